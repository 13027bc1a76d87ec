// Package tlsconf builds TLS configurations from configured file paths.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/modelgate/modelgate/store"
)

// CertPool reads a PEM bundle into a pool, refusing a file that holds no
// certificate: an empty pool would trust nothing, or with some settings
// fall back to something the operator did not choose.
func CertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// Client builds a client TLS configuration: TLS 1.2 at least, the system
// roots unless a CA file is given, and a client certificate for mutual
// TLS when one is. t may be nil.
func Client(t *store.UpstreamTLS) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if t == nil {
		return conf, nil
	}
	conf.ServerName = t.ServerName
	if t.CAFile != "" {
		pool, err := CertPool(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		conf.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("tls: cert_file and key_file go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
