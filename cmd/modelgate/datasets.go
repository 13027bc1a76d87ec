package main

import (
	"fmt"
	"strings"
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
	cmd.AddCommand(register, list, datasetsLineage(g))
	return cmd
}

func datasetsLineage(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "lineage NAME[@VERSION] [--format table|json]",
		Short: "Which model versions were trained on a dataset (all its versions, or one), and where they stand",
		Long: `List the model versions that name a dataset (models register --dataset
NAME@VERSION), with their stage: when a dataset is found poisoned, these are
the models to quarantine (modelgate incident isolate --model) and to
retrain from clean data, and their golden versions the ones to roll back
to if they were trained on other data.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			name, version, _ := strings.Cut(args[0], "@")
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			models, err := reg.Store.ListModels(cmd.Context(), "")
			if err != nil {
				return err
			}
			type trained struct {
				Model   string `json:"model"`
				Stage   string `json:"stage"`
				Golden  bool   `json:"golden,omitempty"`
				Dataset string `json:"dataset"`
			}
			out := []trained{}
			for _, m := range models {
				for _, d := range m.Datasets {
					dn, dv, _ := strings.Cut(d, "@")
					if dn == name && (version == "" || dv == version) {
						out = append(out, trained{Model: m.Ref(), Stage: string(m.Stage), Golden: m.Golden, Dataset: d})
					}
				}
			}
			if format == "json" {
				return writeIndentedJSON(g.stdout, out)
			}
			if len(out) == 0 {
				_, err := fmt.Fprintf(g.stdout, "no registered model names %s\n", args[0])
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "MODEL\tSTAGE\tGOLDEN\tTRAINED ON")
			for _, t := range out {
				fmt.Fprintf(tw, "%s\t%s\t%v\t%s\n", t.Model, t.Stage, t.Golden, t.Dataset)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}
