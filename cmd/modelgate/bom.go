package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/registry/bom"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/spf13/cobra"
)

func newBOM(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "bom NAME@VERSION [--out FILE]",
		Short: "Write a CycloneDX 1.6 AI bill of materials for a registered model",
		Long: `Write an AI-BOM in CycloneDX 1.6 JSON for a registered model version: the
model as a machine-learning-model component with its model card and every
file's SHA-256, the datasets it was trained on as data components, its
signature and gate status, the model scanner's findings as
vulnerabilities, and the Python packages declared beside the model
(requirements*.txt, pyproject.toml, environment.yml) as libraries, with
unpinned ones marked modelgate:unpinned.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, done, err := openExistingRegistry(cmd.Context(), g, nil)
			if err != nil {
				return err
			}
			defer done()
			m, err := lookupModel(cmd.Context(), reg, args[0])
			if err != nil {
				return err
			}
			in := bom.Input{Model: m, ToolVersion: versionString(), Now: time.Now()}
			for _, ref := range m.Datasets {
				dn, dv, _ := registry.ParseRef(ref)
				d, err := reg.Store.GetDataset(cmd.Context(), dn, dv)
				if err != nil {
					return fmt.Errorf("dataset %s: %w", ref, err)
				}
				in.Datasets = append(in.Datasets, d)
			}
			if in.Requirements, err = deps.FindRequirements(m.Path); err != nil {
				return usagef("reading the Python dependencies beside %s: %v", m.Path, err)
			}
			var buf bytes.Buffer
			if err := bom.Write(&buf, bom.Build(in)); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err = g.stdout.Write(buf.Bytes())
				return err
			}
			if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
				return usageError{err}
			}
			unpinned := 0
			for _, r := range in.Requirements {
				if !r.Pinned {
					unpinned++
				}
			}
			fmt.Fprintf(g.stdout, "wrote %s: %s, %d files, %d datasets, %d Python packages (%d unpinned)\n",
				out, m.Ref(), len(m.Manifest.Files), len(in.Datasets), len(in.Requirements), unpinned)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: standard output)")
	return cmd
}
