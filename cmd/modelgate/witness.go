package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelgate/modelgate/audit"
	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
)

func auditWitness(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness",
		Short: "Run a witness that keeps other logs' newest checkpoints (C2SP tlog-witness)",
		Long: `A witness holds the newest checkpoint of each log it witnesses, refuses to go
back, and cosigns what it accepts, so that a log cut back or rewritten after a
checkpoint is caught (audit verify --witness; a server will not start on it).
Run one where the logs' hosts cannot write: another machine, another account.`,
	}
	cmd.AddCommand(witnessKeygen(g), witnessServe(g))
	return cmd
}

func witnessKeygen(g *globals) *cobra.Command {
	var name, out string
	cmd := &cobra.Command{
		Use:   "keygen --name NAME --out DIR",
		Short: "Make a witness key pair: DIR/witness.key (private) and DIR/witness.pub",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" || out == "" {
				return usagef("--name (a schema-less URL such as witness.example.com/w1) and --out are required")
			}
			skey, vkey, err := audit.GenerateCosigner(name)
			if err != nil {
				return usageError{err}
			}
			if err := os.MkdirAll(out, 0o700); err != nil {
				return err
			}
			priv := filepath.Join(out, "witness.key")
			if _, err := os.Stat(priv); err == nil {
				return usagef("%s exists; remove it first to make a new key", priv)
			}
			if err := os.WriteFile(priv, []byte(skey+"\n"), 0o600); err != nil {
				return err
			}
			pub := filepath.Join(out, "witness.pub")
			if err := os.WriteFile(pub, []byte(vkey+"\n"), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "wrote %s and %s\nverifier key: %s\n", priv, pub, vkey)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the witness's name")
	cmd.Flags().StringVar(&out, "out", "", "directory for the key files")
	return cmd
}

func witnessServe(g *globals) *cobra.Command {
	var (
		listen, dir, keyFile string
		logKeys              []string
	)
	cmd := &cobra.Command{
		Use:   "serve --listen ADDR --dir DIR --key FILE --log KEY...",
		Short: "Serve a witness: POST /add-checkpoint, GET /checkpoint?origin=",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listen == "" || dir == "" || keyFile == "" || len(logKeys) == 0 {
				return usagef("--listen, --dir, --key and at least one --log (a log's verifier key, audit pubkey) are required")
			}
			skey, err := os.ReadFile(keyFile)
			if err != nil {
				return usageError{err}
			}
			cos, err := audit.NewCosigner(string(skey))
			if err != nil {
				return usagef("--key %s: %v", keyFile, err)
			}
			var logs []note.Verifier
			for _, k := range logKeys {
				if b, err := os.ReadFile(k); err == nil {
					k = strings.TrimSpace(string(b)) // a file holding the key
				}
				v, err := note.NewVerifier(k)
				if err != nil {
					return usagef("--log %s: %v", k, err)
				}
				logs = append(logs, v)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return usagef("listen on %s: %v", listen, err)
			}
			srv := &http.Server{Handler: audit.WitnessHandler("", &audit.DirWitness{Dir: dir, Logs: note.VerifierList(logs...), Cosigner: cos}),
				ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
			fmt.Fprintf(g.stdout, "witness %s serving on http://%s (%d logs)\n", cos.Name(), ln.Addr(), len(logs))
			go func() {
				<-cmd.Context().Done()
				srv.Close()
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to serve on (127.0.0.1:8090)")
	cmd.Flags().StringVar(&dir, "dir", "", "where to keep the checkpoints")
	cmd.Flags().StringVar(&keyFile, "key", "", "the witness's private key file (audit witness keygen)")
	cmd.Flags().StringArrayVar(&logKeys, "log", nil, "a log's verifier key, or a file holding it (repeatable)")
	return cmd
}
