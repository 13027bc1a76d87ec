package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/modelgate/modelgate/registry"
	"github.com/spf13/cobra"
)

func newDatasets(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "datasets", Short: "Register datasets that models are trained and evaluated on"}
	var req registry.DatasetRequest
	register := &cobra.Command{
		Use:   "register NAME --version V --path FILE|DIR [--contract CONTRACT.yaml]",
		Short: "Register a dataset version: its file digests and, with a contract, whether it holds",
		Long: `Register a version of a dataset: the SHA-256 of every file, and with
--contract the outcome of validating the data file against that data
contract (modelgate data validate). Models name the datasets they were
trained on (models register --dataset NAME@VERSION); the gate denies a
model whose dataset failed its contract.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Name = args[0]
			if req.Version == "" || req.Path == "" {
				return usagef("--version and --path are required")
			}
			reg, done, err := openRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			d, err := reg.RegisterDataset(cmd.Context(), req)
			if err != nil {
				return registryError(err)
			}
			fmt.Fprintf(g.stdout, "registered dataset %s\n  manifest %s (%d files)\n  contract %s\n",
				d.Ref(), d.Manifest.Digest, len(d.Manifest.Files), d.Contract)
			for _, r := range d.ContractFailed {
				fmt.Fprintf(g.stdout, "           failed: %s\n", r)
			}
			return nil
		},
	}
	register.Flags().StringVar(&req.Version, "version", "", "version")
	register.Flags().StringVar(&req.Path, "path", "", "the data: a file or a directory")
	register.Flags().StringVar(&req.ContractPath, "contract", "", "data contract (ODCS v3 YAML) to validate the file against")

	var format string
	list := &cobra.Command{
		Use:   "list [--format table|json]",
		Short: "List dataset versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			ds, err := reg.Store.ListDatasets(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				if ds == nil {
					ds = []*registry.Dataset{}
				}
				return writeIndentedJSON(g.stdout, ds)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DATASET\tVERSION\tCONTRACT\tFILES\tDIGEST\tREGISTERED")
			for _, d := range ds {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Name, d.Version, d.Contract, len(d.Manifest.Files),
					d.Manifest.Digest[:16], d.CreatedAt.Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.AddCommand(register, list)
	return cmd
}
