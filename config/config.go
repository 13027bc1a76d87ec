// Package config reads modelgate.yaml: one file, validated in full at
// start, with errors that name the key and its line. Secrets never live in
// the file: upstream credentials name an environment variable or a file.
package config

import (
	"crypto/tls"
	"log/slog"
	"net/netip"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/store"
)

// Config is a validated configuration.
type Config struct {
	Listen            string
	AdminListen       string
	DataDir           string
	InsecurePlaintext bool
	// Store is where keys, routes and IP rules live; Redis, when set,
	// holds rate limits shared by every replica.
	Store Store
	Redis Redis

	Log Log
	TLS *TLS // nil: plaintext (loopback only, unless InsecurePlaintext)

	Identities     []access.CertIdentity
	Limits         gateway.Limits
	RateLimits     gateway.RateLimits
	TrustedProxies []netip.Prefix
	IPRules        []*store.IPRule
	Routes         []*store.Route
	ShutdownGrace  time.Duration
	Audit          Audit
	Guards         Guards
	Monitoring     Monitoring
	Feedback       Feedback
}

// Audit configures the audit log.
type Audit struct {
	Mode               string // fail_closed or best_effort
	Capture            store.Capture
	CheckpointEvery    int64
	CheckpointInterval time.Duration
	BatchMax           int
	// BatchWait paces group commits under load (see audit.Options); 0
	// commits at once.
	BatchWait time.Duration
	// PayloadRetention erases captured payloads older than this (0: keep).
	PayloadRetention time.Duration
	Forwarders       []Forwarder
	// Witnesses receive every checkpoint; the server does not start on a
	// log shorter than, or inconsistent with, what one holds.
	Witnesses []Witness
	// RequireWitnesses refuses to start when a witness cannot be reached.
	RequireWitnesses bool
	// WitnessServer, when set, serves a witness for other logs on the
	// admin listener at /witness/v1.
	WitnessServer *WitnessServer
}

// Witness is one outside copy of the log's newest checkpoint: a directory
// (Dir) or a C2SP tlog-witness (URL, with its verifier key Key).
type Witness struct {
	Dir string
	URL string
	Key string // the witness's cosignature verifier key (public)
}

// WitnessServer is a witness this server runs for other logs.
type WitnessServer struct {
	Dir     string   // where it keeps their checkpoints
	KeyFile string   // its cosigning key (audit witness keygen)
	Logs    []string // the verifier keys of the logs it witnesses
}

// Forwarder ships audit events to a SIEM.
type Forwarder struct {
	Name string
	Type string // syslog, webhook, file
	// syslog
	Address string // host:port
	TLS     *store.UpstreamTLS
	// webhook
	URL        string
	Credential *store.Credential
	BatchSize  int
	// file
	Path     string
	MaxBytes int64
	MaxFiles int
	// every type
	Format string // syslog: rfc5424 (default) or cef; file: jsonl (default), ocsf or cef
}

// Log configures logging.
type Log struct {
	Level    slog.Level
	Format   string // "json" or "text"
	Requests bool   // one line per data-plane request
}

// TLS configures the listeners' TLS.
type TLS struct {
	CertFile, KeyFile string
	MinVersion        uint16 // tls.VersionTLS12 or tls.VersionTLS13
	ClientCA          string // enables client certificates
	RequireClientCert bool
}

// Defaults.
const (
	DefaultListen      = "127.0.0.1:8080"
	DefaultAdminListen = "127.0.0.1:8081"
	DefaultDataDir     = "./.modelgate"
)

// Default returns the configuration used when a file sets nothing.
func Default() *Config {
	return &Config{
		Listen:      DefaultListen,
		AdminListen: DefaultAdminListen,
		DataDir:     DefaultDataDir,
		Log:         Log{Level: slog.LevelInfo, Format: "json", Requests: true},
		RateLimits: gateway.RateLimits{
			Key: access.Limits{RPM: 600, MaxConcurrent: 64},
			IP:  access.Limits{RPM: 6000},
		},
		ShutdownGrace: 30 * time.Second,
		Audit: Audit{
			Mode:               "fail_closed",
			Capture:            store.Capture{Input: store.CaptureHash, Output: store.CaptureHash},
			CheckpointEvery:    1000,
			CheckpointInterval: 10 * time.Second,
			BatchMax:           1024,
			BatchWait:          2 * time.Millisecond,
		},
	}
}

// tlsVersions maps the accepted min_version strings.
var tlsVersions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}
