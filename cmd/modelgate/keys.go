package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/admin"
	"github.com/spf13/cobra"
)

// keysFlags select where keys are managed: the local data directory, or a
// running gateway's admin API with --server.
type keysFlags struct {
	server string
	format string
}

// AdminKeyEnv names the environment variable that holds the admin key for
// --server. It is never a flag, so it stays out of shell history and ps.
const AdminKeyEnv = "MODELGATE_ADMIN_KEY"

func newKeys(g *globals) *cobra.Command {
	f := &keysFlags{}
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list, show, revoke and rotate API keys",
		Long: `Manage API keys in the local data directory (--data-dir), or through a running
gateway's admin API (--server URL, with an admin key in $` + AdminKeyEnv + `).`,
	}
	cmd.PersistentFlags().StringVar(&f.server, "server", os.Getenv("MODELGATE_SERVER"), "admin API URL of a running gateway (default $MODELGATE_SERVER)")
	cmd.PersistentFlags().StringVar(&f.format, "format", "table", "output format: table or json")
	cmd.AddCommand(keysCreate(g, f), keysList(g, f), keysShow(g, f), keysRevoke(g, f), keysRotate(g, f))
	return cmd
}

// open returns the key manager and a function to release it. Only create
// may bring a new data directory into being; for the others a missing one
// is a mistake worth saying so.
func (f *keysFlags) open(ctx context.Context, g *globals, create bool) (admin.Keys, func(), error) {
	if f.format != "table" && f.format != "json" {
		return nil, nil, usagef("--format must be table or json, not %q", f.format)
	}
	if f.server != "" {
		key := os.Getenv(AdminKeyEnv)
		if key == "" {
			return nil, nil, usagef("--server needs an admin API key in $%s", AdminKeyEnv)
		}
		return &admin.Client{BaseURL: f.server, Key: key}, func() {}, nil
	}
	if !create && g.postgresEnv == "" {
		if _, err := os.Stat(g.dataDir); err != nil {
			return nil, nil, usagef("no data directory at %s: pass --data-dir, or create a key first", g.dataDir)
		}
	}
	st, l, done, err := openLocal(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	keys := admin.Local{Store: st, Recorder: &admin.AuditLog{Log: l}, Actor: admin.Change{Actor: cliActor()}}
	return keys, done, nil
}

func keysCreate(g *globals, f *keysFlags) *cobra.Command {
	var (
		req     admin.NewKeyRequest
		scopes  string
		models  string
		expires string
	)
	cmd := &cobra.Command{
		Use:   "create --name NAME --scopes S,... --models M,...",
		Short: "Create an API key and print its secret, once",
		Example: `  modelgate keys create --name billing-app --scopes inference:invoke --models demo-chat --rpm 60 --expires 30d
  modelgate keys create --name ops --scopes admin --models '*'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req.Scopes, req.Models, req.ExpiresIn = splitList(scopes), splitList(models), expires
			if len(req.Models) == 0 {
				return usagef("--models is required: list model names, or '*' for every model")
			}
			keys, done, err := f.open(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			defer done()
			k, err := keys.CreateKey(cmd.Context(), req)
			if err != nil {
				return err
			}
			if f.format == "json" {
				return writeJSON(g.stdout, k)
			}
			fmt.Fprintf(g.stdout, "API key: %s\n", k.Secret)
			fmt.Fprintf(g.stderr, "Created key %s (%s). Store the key now: it is not shown again.\n", k.Key.ID, k.Key.Name)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&req.Name, "name", "", "who or what the key is for (required)")
	fl.StringVar(&scopes, "scopes", "", "comma-separated scopes: "+scopeNames()+" (required)")
	fl.StringVar(&models, "models", "", "comma-separated model names the key may use, or '*' (required)")
	fl.Int64Var(&req.RPM, "rpm", 0, "requests per minute (0: the gateway default)")
	fl.Int64Var(&req.TPM, "tpm", 0, "tokens per minute (0: the gateway default)")
	fl.Int64Var(&req.Burst, "burst", 0, "requests allowed at once (0: a minute's worth)")
	fl.Int64Var(&req.MaxConcurrent, "max-concurrent", 0, "requests in flight at once (0: the gateway default)")
	fl.StringVar(&expires, "expires", "", "lifetime, e.g. 30d, 2w, 12h (default: never)")
	cmd.MarkFlagRequired("name")
	cmd.MarkFlagRequired("scopes")
	cmd.MarkFlagRequired("models")
	return cmd
}

func keysList(g *globals, f *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, done, err := f.open(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer done()
			list, err := keys.ListKeys(cmd.Context())
			if err != nil {
				return err
			}
			if f.format == "json" {
				return writeJSON(g.stdout, map[string]any{"keys": list})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tSCOPES\tMODELS\tRPM\tTPM\tCREATED\tEXPIRES")
			for _, k := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Status,
					strings.Join(k.Scopes, ","), strings.Join(k.Models, ","), orDefault(k.RPM), orDefault(k.TPM),
					k.CreatedAt.Format(time.DateOnly), dateOrNever(k.ExpiresAt))
			}
			return tw.Flush()
		},
	}
}

func keysShow(g *globals, f *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.onKey(cmd.Context(), g, args[0], func(keys admin.Keys, id string) error {
				k, err := keys.GetKey(cmd.Context(), id)
				if err != nil || f.format == "json" {
					return f.jsonOr(g, k, err)
				}
				printKey(g.stdout, k)
				return nil
			})
		},
	}
}

func keysRevoke(g *globals, f *keysFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API key; a running gateway refuses it from the next request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.onKey(cmd.Context(), g, args[0], func(keys admin.Keys, id string) error {
				k, err := keys.RevokeKey(cmd.Context(), id)
				if err != nil || f.format == "json" {
					return f.jsonOr(g, k, err)
				}
				fmt.Fprintf(g.stdout, "Revoked key %s (%s) at %s\n", k.ID, k.Name, k.RevokedAt.Format(time.RFC3339))
				return nil
			})
		},
	}
}

func keysRotate(g *globals, f *keysFlags) *cobra.Command {
	var grace string
	cmd := &cobra.Command{
		Use:   "rotate ID [--grace 1h]",
		Short: "Give an API key a new secret and print it, once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.onKey(cmd.Context(), g, args[0], func(keys admin.Keys, id string) error {
				k, err := keys.RotateKey(cmd.Context(), id, admin.RotateRequest{Grace: grace})
				if err != nil || f.format == "json" {
					return f.jsonOr(g, k, err)
				}
				fmt.Fprintf(g.stdout, "API key: %s\n", k.Secret)
				if !k.Key.PreviousSecretValidUntil.IsZero() {
					fmt.Fprintf(g.stderr, "The previous secret keeps working until %s.\n", k.Key.PreviousSecretValidUntil.Format(time.RFC3339))
				} else {
					fmt.Fprintln(g.stderr, "The previous secret no longer works.")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&grace, "grace", "", "how long the previous secret keeps working, e.g. 1h (default: it stops at once)")
	return cmd
}

// onKey resolves a key id (or full key), opens the key manager and runs fn.
func (f *keysFlags) onKey(ctx context.Context, g *globals, arg string, fn func(keys admin.Keys, id string) error) error {
	id, err := access.KeyIDFromString(arg)
	if err != nil {
		return usageError{err}
	}
	keys, done, err := f.open(ctx, g, false)
	if err != nil {
		return err
	}
	defer done()
	return fn(keys, id)
}

// jsonOr returns err, or prints v as JSON.
func (f *keysFlags) jsonOr(g *globals, v any, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(g.stdout, v)
}

func printKey(w io.Writer, k *admin.KeyView) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\nName:\t%s\nStatus:\t%s\nScopes:\t%s\nModels:\t%s\n", k.ID, k.Name, k.Status,
		strings.Join(k.Scopes, ", "), strings.Join(k.Models, ", "))
	fmt.Fprintf(tw, "RPM:\t%s\nTPM:\t%s\nBurst:\t%s\nMax concurrent:\t%s\n", orDefault(k.RPM), orDefault(k.TPM), orDefault(k.Burst), orDefault(k.MaxConcurrent))
	fmt.Fprintf(tw, "Created:\t%s\nExpires:\t%s\n", k.CreatedAt.Format(time.RFC3339), timeOrNever(k.ExpiresAt))
	if !k.RevokedAt.IsZero() {
		fmt.Fprintf(tw, "Revoked:\t%s\n", k.RevokedAt.Format(time.RFC3339))
	}
	if !k.RotatedAt.IsZero() {
		fmt.Fprintf(tw, "Rotated:\t%s\n", k.RotatedAt.Format(time.RFC3339))
	}
	tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v, jsontext.Multiline(true))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func scopeNames() string {
	var names []string
	for _, s := range access.AllScopes {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

func orDefault(n int64) string {
	if n == 0 {
		return "default"
	}
	return fmt.Sprint(n)
}

func dateOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.DateOnly)
}

func timeOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}
