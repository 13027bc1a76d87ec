package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"

	"github.com/modelgate/modelgate/admin"
	"github.com/modelgate/modelgate/audit"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/server"
	"github.com/modelgate/modelgate/signing"
	"github.com/modelgate/modelgate/store/sqlite"
	"github.com/spf13/cobra"
)

func newKeygen(g *globals) *cobra.Command {
	var out, curve string
	cmd := &cobra.Command{
		Use:   "keygen --out DIR [--curve p256|p384|p521]",
		Short: "Create a key pair for signing models",
		Long: `Write a new ECDSA key pair for model signing: DIR/private.pem (PKCS#8,
readable by its owner only) and DIR/public.pem. Keep the private key
secret; give the public key to whoever verifies.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			c := map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384(), "p521": elliptic.P521()}[curve]
			if c == nil {
				return usagef("--curve must be p256, p384 or p521, got %q", curve)
			}
			priv, pub, err := signing.Keygen(out, c)
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(g.stdout, "private key: %s\npublic key:  %s\n", priv, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for the key pair")
	cmd.Flags().StringVar(&curve, "curve", "p256", "p256, p384 or p521")
	return cmd
}

func newSign(g *globals) *cobra.Command {
	var key, signature string
	var chain, ignore []string
	var shards bool
	cmd := &cobra.Command{
		Use:   "sign PATH --key KEY [--cert-chain CHAIN ...] [--signature FILE] [--shards]",
		Short: "Sign a model (OpenSSF model signing, OMS v1.0)",
		Long: `Hash every file of a model (a directory or a file) in parallel and sign
the manifest in the OpenSSF model signing format: an in-toto statement in a
DSSE envelope in a Sigstore bundle, written to model.sig inside the model
directory (and left out of the manifest) unless --signature says otherwise.
Keys are ECDSA P-256, P-384 or P-521 in PEM (PKCS#8 or SEC1). With
--cert-chain, the bundle carries the signing certificate and its
intermediates (the certificate method).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return usagef("--key is required")
			}
			k, err := signing.LoadPrivateKey(key)
			if err != nil {
				return usageError{err}
			}
			out, err := signing.Sign(args[0], signing.SignOptions{Key: k, CertChain: chain, Signature: signature, Shards: shards, Ignore: ignore})
			if err != nil {
				return usageError{err}
			}
			fmt.Fprintf(g.stdout, "signed %s: %s\n", args[0], out)
			return recordSigning(cmd.Context(), g, args[0], out, &k.PublicKey)
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "private key (PEM)")
	cmd.Flags().StringSliceVar(&chain, "cert-chain", nil, "signing certificate, then intermediates (PEM files)")
	cmd.Flags().StringVar(&signature, "signature", "", "where to write the bundle (default PATH/model.sig)")
	cmd.Flags().BoolVar(&shards, "shards", false, "hash files in 1 GB shards")
	cmd.Flags().StringSliceVar(&ignore, "ignore-paths", nil, "model-relative paths to leave out")
	return cmd
}

func newVerify(g *globals) *cobra.Command {
	var pubkey, signature string
	var chain []string
	cmd := &cobra.Command{
		Use:   "verify PATH (--pubkey KEY | --cert-chain ROOTS ...) [--signature FILE]",
		Short: "Verify a model's signature",
		Long: `Verify a model against its OMS bundle: the signature over the manifest,
and every file of the model against the manifest. Any modified, missing or
extra file fails, and is named. Bundles from the OpenSSF reference
implementations (Python and Go) verify.

Exit status: 0 verified, 1 not verified, 2 bad usage.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o signing.VerifyOptions
			o.Signature = signature
			switch {
			case pubkey != "" && len(chain) > 0:
				return usagef("give --pubkey or --cert-chain, not both")
			case pubkey != "":
				k, err := signing.LoadPublicKey(pubkey)
				if err != nil {
					return usageError{err}
				}
				o.PublicKey = k
			case len(chain) > 0:
				o.Roots = x509.NewCertPool()
				for _, p := range chain {
					certs, err := signing.ReadCertificates(p)
					if err != nil {
						return usageError{err}
					}
					for _, c := range certs {
						o.Roots.AddCert(c)
					}
				}
			default:
				return usagef("give --pubkey or --cert-chain")
			}
			v, err := signing.Verify(args[0], o)
			if err != nil {
				fmt.Fprintln(g.stdout, "NOT VERIFIED:", err)
				return findings{msg: "the model's signature does not verify"}
			}
			fmt.Fprintf(g.stdout, "verified %s: %d resources (%s), sha256 %s\n", args[0], v.Resources, v.Method, v.Root)
			return nil
		},
	}
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "public key (PEM)")
	cmd.Flags().StringSliceVar(&chain, "cert-chain", nil, "trusted root certificates (PEM files)")
	cmd.Flags().StringVar(&signature, "signature", "", "the bundle (default PATH/model.sig)")
	return cmd
}

// recordSigning appends a model.sign event to the audit log of the data
// directory when there is one (a registry or gateway lives there), so
// that signing is evidence like every other registry action. Without a
// log there is nothing to record to, and signing stands alone.
func recordSigning(ctx context.Context, g *globals, model, sig string, pub *ecdsa.PublicKey) error {
	if _, err := os.Stat(filepath.Join(g.dataDir, sqlite.AuditFileName)); err != nil {
		return nil
	}
	hint, err := signing.KeyHint(pub)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(model)
	l, adb, err := server.OpenAudit(ctx, g.dataDir, audit.Options{})
	if err != nil {
		return fmt.Errorf("the model was signed (%s) but the audit log could not be opened to record it: %w", sig, err)
	}
	defer func() { l.Close(); adb.Close() }()
	err = (&admin.AuditLog{Log: l}).RecordChange(ctx, admin.Change{Actor: cliActor(), Action: registry.ActionSign,
		Target: filepath.Base(abs), Outcome: admin.ChangeAllowed, Details: map[string]string{"path": abs, "signature": sig, "key_hint": hint}})
	if err != nil {
		return fmt.Errorf("the model was signed (%s) but recording it in the audit log failed: %w", sig, err)
	}
	return nil
}
