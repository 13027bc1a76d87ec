// Package pemfile reads PEM certificate bundles for TLS configuration.
package pemfile

import (
	"crypto/x509"
	"fmt"
	"os"
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
