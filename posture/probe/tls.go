package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// tlsConfig is the HTTP checks' TLS: they look at what the endpoint does
// even when its certificate is bad (the tls check reports that), and so
// never send a key to an endpoint whose certificate did not verify.
func (o Options) tlsConfig() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}
}

func (p *prober) checkTLS(ctx context.Context) Check {
	if p.base.Scheme != "https" {
		p.issue("PS-EP-001", "%s is served over plain HTTP", p.base.Host)
		if p.opts.Key != "" {
			if !isLoopback(p.base.Hostname()) {
				p.opts.Key = ""
				return Check{Status: Fail, Detail: "plain HTTP: the key was not sent to this non-loopback endpoint"}
			}
		}
		return Check{Status: Fail, Detail: "plain HTTP"}
	}
	addr := p.base.Host
	if p.base.Port() == "" {
		addr = net.JoinHostPort(p.base.Hostname(), "443")
	}
	var notes []string
	failed := false

	// What a current client negotiates, and the chain it is given.
	cs, err := p.handshake(ctx, addr, &tls.Config{InsecureSkipVerify: true, ServerName: p.base.Hostname()})
	if err != nil {
		return Check{Status: Inconclusive, Detail: fmt.Sprintf("handshake: %v", err)}
	}
	notes = append(notes, "negotiated "+tls.VersionName(cs.Version)+" "+tls.CipherSuiteName(cs.CipherSuite))
	if err := p.verifyChain(cs); err != nil {
		failed = true
		p.issue("PS-EP-004", "%v", err)
		if p.opts.Key != "" {
			p.opts.Key = ""
			notes = append(notes, "the key was not sent: the certificate does not verify")
		}
	} else if left := cs.PeerCertificates[0].NotAfter.Sub(p.opts.Now()); left < p.opts.ExpiryWarning {
		failed = true
		p.issue("PS-EP-005", "the certificate expires %s (in %d days)", cs.PeerCertificates[0].NotAfter.Format(time.DateOnly), int(left.Hours()/24))
	}

	// Versions below 1.2, one handshake each.
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		if _, err := p.handshake(ctx, addr, &tls.Config{InsecureSkipVerify: true, ServerName: p.base.Hostname(), MinVersion: v, MaxVersion: v}); err == nil {
			failed = true
			p.issue("PS-EP-002", "%s accepted", tls.VersionName(v))
		}
	}
	// Suites Go deems insecure (RC4, 3DES, CBC with SHA-256), over TLS
	// 1.2: TLS 1.3 has none.
	var weak []uint16
	for _, s := range tls.InsecureCipherSuites() {
		weak = append(weak, s.ID)
	}
	if cs, err := p.handshake(ctx, addr, &tls.Config{InsecureSkipVerify: true, ServerName: p.base.Hostname(),
		MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, CipherSuites: weak}); err == nil {
		failed = true
		p.issue("PS-EP-003", "%s accepted", tls.CipherSuiteName(cs.CipherSuite))
	}
	if failed {
		return Check{Status: Fail, Detail: strings.Join(notes, "; ")}
	}
	return Check{Status: Pass, Detail: strings.Join(notes, "; ")}
}

func (p *prober) handshake(ctx context.Context, addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	if !p.take() {
		return tls.ConnectionState{}, errBudget
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	raw, err := p.dial(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer raw.Close()
	c := tls.Client(raw, cfg)
	if err := c.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, err
	}
	return c.ConnectionState(), nil
}

// verifyChain checks the chain against the roots and the host name, at
// the probe's clock.
func (p *prober) verifyChain(cs tls.ConnectionState) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: p.opts.Roots, Intermediates: inter, DNSName: p.base.Hostname(), CurrentTime: p.opts.Now()})
	if err != nil {
		return fmt.Errorf("the certificate does not verify: %w", err)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
