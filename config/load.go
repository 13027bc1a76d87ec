package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/registry"
	"github.com/modelgate/modelgate/store"
	"go.yaml.in/yaml/v3"
)

var errNegative = errors.New("must not be negative")

// Error lists every problem found in a configuration file.
type Error struct {
	File     string
	Problems []Problem
}

// Problem is one invalid setting: its key path, line and what is wrong.
type Problem struct {
	Key     string `json:"key,omitempty"`  // e.g. routes[1].upstream.url
	Line    int    `json:"line,omitempty"` // 0 when unknown
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s):", e.File, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		if p.Line > 0 {
			fmt.Fprintf(&b, "line %d: ", p.Line)
		}
		if p.Key != "" {
			b.WriteString(p.Key + ": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// Options change what Parse checks.
type Options struct {
	// Offline checks the file alone: the environment variables and files
	// it names need not exist here (a CI job, a laptop without the
	// production secrets). What it can check of them, it does: that a
	// name is given, that a key read is long enough.
	Offline bool
	// InsecurePlaintext allows plaintext listeners that other machines
	// can reach, as serve --insecure-plaintext does.
	InsecurePlaintext bool
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith reads and validates a configuration file with options.
func LoadWith(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWith(path, data, opts)
}

// Parse validates configuration text; name labels errors.
func Parse(name string, data []byte) (*Config, error) { return ParseWith(name, data, Options{}) }

// ParseWith validates configuration text with options. Every problem is
// reported at once: an unknown key or a value of the wrong type does not
// stop the checks of the rest.
func ParseWith(name string, data []byte, opts Options) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: name, Problems: []Problem{yamlProblem(err)}}
	}
	v := &validator{lines: map[string]int{}, opts: opts}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt key is an error, not a silent default
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Error{File: name, Problems: yamlProblems(err)}
		}
		// The decoder filled in what it could; check that too.
		v.problems = append(v.problems, yamlProblems(err)...)
	}
	if len(root.Content) > 0 {
		v.index(root.Content[0], "")
	}
	cfg := v.build(&f)
	if len(v.problems) > 0 {
		sort.SliceStable(v.problems, func(i, j int) bool { return v.problems[i].Line < v.problems[j].Line })
		return nil, &Error{File: name, Problems: v.problems}
	}
	return cfg, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlProblem(err error) Problem {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{Line: n, Message: m[2]}
	}
	return Problem{Message: strings.TrimPrefix(msg, "yaml: ")}
}

// yamlProblems splits a decoder error into one problem per line, and
// rewords "field x not found in type config.file" for people.
func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []Problem{yamlProblem(err)}
	}
	var ps []Problem
	for _, e := range te.Errors {
		p := yamlProblem(errors.New(e))
		if f, _, ok := strings.Cut(strings.TrimPrefix(p.Message, "field "), " not found in type"); ok && strings.HasPrefix(p.Message, "field ") {
			p.Message = fmt.Sprintf("unknown key %q", f)
		}
		ps = append(ps, p)
	}
	return ps
}

// validator converts the file to a Config, collecting every problem with
// the line of the key it concerns.
type validator struct {
	lines    map[string]int
	problems []Problem
	opts     Options
}

// env reads an environment variable the file names. An unset one is a
// problem, except offline.
func (v *validator) env(key, name string) string {
	val := os.Getenv(name)
	if val == "" && !v.opts.Offline {
		v.fail(key, "environment variable %s is empty or unset", name)
	}
	return val
}

// exists checks that a file the configuration names exists, except
// offline.
func (v *validator) exists(key, path string) {
	if v.opts.Offline {
		return
	}
	if _, err := os.Stat(path); err != nil {
		v.fail(key, "%v", err)
	}
}

// index records the line of every key path in the document.
func (v *validator) index(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			v.lines[p] = k.Line
			v.index(n.Content[i+1], p)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := path + "[" + strconv.Itoa(i) + "]"
			v.lines[p] = c.Line
			v.index(c, p)
		}
	}
}

func (v *validator) fail(key, format string, args ...any) {
	line := v.lines[key]
	// Fall back to the nearest enclosing key with a known line.
	for k := key; line == 0 && k != ""; {
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
		line = v.lines[k]
	}
	v.problems = append(v.problems, Problem{Key: key, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) duration(key, s string, into *time.Duration) {
	d, err := duration(s)
	if err != nil {
		v.fail(key, "%q is not a duration such as 30s or 5m: %v", s, err)
		return
	}
	if s != "" {
		*into = d
	}
}

func (v *validator) nonNegative(key string, n int64) {
	if n < 0 {
		v.fail(key, "must not be negative, got %d", n)
	}
}

func (v *validator) build(f *file) *Config {
	c := Default()
	if f.Listen != nil {
		c.Listen = *f.Listen
	}
	if f.AdminListen != nil {
		c.AdminListen = *f.AdminListen
	}
	if f.DataDir != nil {
		c.DataDir = *f.DataDir
	}
	c.InsecurePlaintext = f.InsecurePlaintext
	if f.ShutdownGrace != nil {
		v.duration("shutdown_grace", *f.ShutdownGrace, &c.ShutdownGrace)
	}
	if c.Listen == "" {
		v.fail("listen", "must be an address such as 127.0.0.1:8080")
	}
	if c.AdminListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") { // port 0: each gets a free port
		v.fail("admin_listen", "must differ from listen: the admin API has its own listener")
	}
	if f.TLS == nil && !c.InsecurePlaintext && !v.opts.InsecurePlaintext {
		for _, l := range [...]struct{ key, addr string }{{"listen", c.Listen}, {"admin_listen", c.AdminListen}} {
			if l.addr != "" && !IsLoopback(l.addr) {
				v.fail(l.key, "%s has no TLS and other machines can reach it: set tls.cert_file and tls.key_file, listen on 127.0.0.1, or, if something in front terminates TLS, set insecure_plaintext: true (serve --insecure-plaintext)", l.addr)
			}
		}
	}
	v.buildLog(f, c)
	v.buildScaleOut(f, c)
	v.buildTLS(f, c)
	v.buildIdentities(f, c)
	v.buildLimits(f, c)
	v.buildAccess(f, c)
	v.buildGuards(f, c)
	v.buildRoutes(f, c)
	v.buildAudit(f, c)
	v.buildMonitoring(f, c)
	v.buildFeedback(f, c)
	return c
}

func (v *validator) buildLog(f *file, c *Config) {
	if f.Log == nil {
		return
	}
	if f.Log.Level != nil {
		if err := c.Log.Level.UnmarshalText([]byte(*f.Log.Level)); err != nil {
			v.fail("log.level", "must be debug, info, warn or error, got %q", *f.Log.Level)
		}
	}
	if f.Log.Format != nil {
		switch *f.Log.Format {
		case "json", "text":
			c.Log.Format = *f.Log.Format
		default:
			v.fail("log.format", "must be json or text, got %q", *f.Log.Format)
		}
	}
	if f.Log.Requests != nil {
		c.Log.Requests = *f.Log.Requests
	}
}

func (v *validator) buildTLS(f *file, c *Config) {
	t := f.TLS
	if t == nil {
		return
	}
	c.TLS = &TLS{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCA: t.ClientCA, MinVersion: tlsVersions["1.2"]}
	if t.CertFile == "" || t.KeyFile == "" {
		v.fail("tls", "cert_file and key_file are both required")
	}
	for _, f := range [...]struct{ key, path string }{{"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile}, {"tls.client_ca", t.ClientCA}} {
		if f.path != "" {
			v.exists(f.key, f.path)
		}
	}
	if t.MinVersion != "" {
		mv, ok := tlsVersions[t.MinVersion]
		if !ok {
			v.fail("tls.min_version", `must be "1.2" or "1.3", got %q`, t.MinVersion)
		}
		c.TLS.MinVersion = mv
	}
	switch t.ClientAuth {
	case "", "optional":
	case "require":
		c.TLS.RequireClientCert = true
		if t.ClientCA == "" {
			v.fail("tls.client_auth", "require needs tls.client_ca")
		}
	default:
		v.fail("tls.client_auth", "must be optional or require, got %q", t.ClientAuth)
	}
}

func (v *validator) buildIdentities(f *file, c *Config) {
	seen := map[string]bool{}
	for i, id := range f.Identities {
		key := "identities[" + strconv.Itoa(i) + "]"
		ci := access.CertIdentity{Name: id.Name, SPIFFEID: id.SPIFFEID, CommonName: id.CommonName,
			Scopes: id.Scopes, Models: id.Models,
			Limits: access.Limits{RPM: id.RPM, TPM: id.TPM, Burst: id.Burst, MaxConcurrent: id.MaxConc}}
		if seen[id.Name] {
			v.fail(key+".name", "identity %q is defined twice", id.Name)
		}
		seen[id.Name] = true
		if _, err := access.NewCertMapper([]access.CertIdentity{ci}); err != nil {
			v.fail(key, "%v", err)
		}
		if len(id.Models) == 0 {
			v.fail(key+".models", "is required: list model names, or [\"*\"] for every model")
		}
		c.Identities = append(c.Identities, ci)
	}
	if len(f.Identities) > 0 && (f.TLS == nil || f.TLS.ClientCA == "") {
		v.fail("identities", "client-certificate identities need tls.client_ca")
	}
}

func (v *validator) buildLimits(f *file, c *Config) {
	if l := f.Limits; l != nil {
		set := func(key string, p *int64, into *int64) {
			if p != nil {
				v.nonNegative(key, *p)
				*into = *p
			}
		}
		setInt := func(key string, p *int, into *int) {
			if p != nil {
				v.nonNegative(key, int64(*p))
				*into = *p
			}
		}
		set("limits.max_body_bytes", l.MaxBodyBytes, &c.Limits.MaxBodyBytes)
		setInt("limits.max_header_bytes", l.MaxHeaderBytes, &c.Limits.MaxHeaderBytes)
		setInt("limits.max_prompt_chars", l.MaxPromptChars, &c.Limits.MaxPromptChars)
		setInt("limits.max_messages", l.MaxMessages, &c.Limits.MaxMessages)
		if l.RequestTimeout != nil {
			v.duration("limits.request_timeout", *l.RequestTimeout, &c.Limits.RequestTimeout)
		}
		if l.BodyReadTimeout != nil {
			v.duration("limits.body_read_timeout", *l.BodyReadTimeout, &c.Limits.BodyReadTimeout)
		}
	}
	if r := f.RateLimits; r != nil {
		v.limits("rate_limits.key", r.Key, &c.RateLimits.Key)
		v.limits("rate_limits.ip", r.IP, &c.RateLimits.IP)
		if r.IP != nil && r.IP.MaxConcurrent != nil {
			v.fail("rate_limits.ip.max_concurrent", "concurrency is capped per key, not per address")
		}
	}
}

func (v *validator) limits(key string, f *limitsFile, into *access.Limits) {
	if f == nil {
		return
	}
	for _, s := range []struct {
		name string
		p    *int64
		into *int64
	}{{"rpm", f.RPM, &into.RPM}, {"tpm", f.TPM, &into.TPM}, {"burst", f.Burst, &into.Burst}, {"max_concurrent", f.MaxConcurrent, &into.MaxConcurrent}} {
		if s.p != nil {
			v.nonNegative(key+"."+s.name, *s.p)
			*s.into = *s.p
		}
	}
}

func (v *validator) buildAccess(f *file, c *Config) {
	if f.Access == nil {
		return
	}
	for i, s := range f.Access.TrustedProxies {
		p, err := access.ParseCIDR(s)
		if err != nil {
			v.fail("access.trusted_proxies["+strconv.Itoa(i)+"]", "%v", err)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	for _, list := range []struct {
		key, action string
		cidrs       []string
	}{{"access.ip_allow", store.IPAllow, f.Access.IPAllow}, {"access.ip_deny", store.IPDeny, f.Access.IPDeny}} {
		for i, s := range list.cidrs {
			key := list.key + "[" + strconv.Itoa(i) + "]"
			if _, err := access.ParseCIDR(s); err != nil {
				v.fail(key, "%v", err)
				continue
			}
			c.IPRules = append(c.IPRules, &store.IPRule{ID: "config:" + key, CIDR: s, Action: list.action, Comment: "from the configuration file"})
		}
	}
}

func (v *validator) buildRoutes(f *file, c *Config) {
	seen := map[string]bool{}
	now := time.Now().UTC()
	for i, rf := range f.Routes {
		key := "routes[" + strconv.Itoa(i) + "]"
		up := rf.Upstream
		r := &store.Route{Model: rf.Model, Registry: rf.Registry, Protocol: rf.Protocol, Source: store.SourceConfig, CreatedAt: now, UpdatedAt: now,
			Upstream: store.Upstream{URL: up.URL, Model: up.Model, ModelVersion: up.ModelVersion, MaxResponseBytes: up.MaxResponseBytes}}
		r.Upstream.Credential = up.Credential.credential()
		r.Upstream.TLS = up.TLS.upstreamTLS()
		if rf.Capture != nil {
			r.Capture = &store.Capture{Input: rf.Capture.Input, Output: rf.Capture.Output}
		}
		if o := rf.Outputs; o != nil {
			r.Outputs = &store.OutputControls{Keep: o.Keep, Decimals: o.Decimals, TopK: o.TopK}
		}
		r.MaxBatch = rf.MaxBatch
		if r.Guards = rf.Guards; r.Guards != "" && r.Guards != "none" && c.Guards.Pipelines[r.Guards] == nil {
			v.fail(key+".guards", "no pipeline named %q under guards.pipelines", r.Guards)
		}
		var d time.Duration
		v.duration(key+".upstream.connect_timeout", up.ConnectTimeout, &d)
		r.Upstream.ConnectTimeout, d = store.Duration(d), 0
		v.duration(key+".upstream.response_header_timeout", up.ResponseHeaderTimeout, &d)
		r.Upstream.ResponseHeaderTimeout, d = store.Duration(d), 0
		v.duration(key+".upstream.timeout", up.Timeout, &d)
		r.Upstream.Timeout = store.Duration(d)
		if name, stage, ok := strings.Cut(rf.Model, "@"); ok && isRegistryStage(stage) {
			// A route to a registry model by stage: only production serves.
			if stage != "production" {
				v.fail(key+".model", "%q: only a registry model's production version can be served (write %s@production)", rf.Model, name)
			}
			if rf.Registry != "" && rf.Registry != name {
				v.fail(key+".registry", "%q contradicts model %q", rf.Registry, rf.Model)
			}
			r.Model, r.Registry, rf.Model = name, name, name
		}
		if seen[rf.Model] {
			v.fail(key+".model", "model %q is routed twice", rf.Model)
		}
		seen[rf.Model] = true
		for _, fe := range gateway.RouteProblems(r) {
			v.fail(key+"."+fe.Field, "%s", fe.Message)
		}
		if c := r.Upstream.Credential; c != nil {
			switch {
			case c.Env != "":
				v.env(key+".upstream.credential.env", c.Env)
			case c.File != "":
				v.exists(key+".upstream.credential.file", c.File)
			}
		}
		if t := r.Upstream.TLS; t != nil {
			for _, f := range [...]struct{ key, path string }{{"ca_file", t.CAFile}, {"cert_file", t.CertFile}, {"key_file", t.KeyFile}} {
				if f.path != "" {
					v.exists(key+".upstream.tls."+f.key, f.path)
				}
			}
		}
		c.Routes = append(c.Routes, r)
	}
}

func durationsAsText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// IsLoopback reports whether a listen address (host:port) is reachable
// only from this machine.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogHandler returns a slog handler for the configured format and level.
// Durations are written as Go durations ("30s", "1.5ms") rather than
// slog's default of nanoseconds, which nobody reading a log can take in.
func (l Log) Handler(w interface{ Write([]byte) (int, error) }) slog.Handler {
	opts := &slog.HandlerOptions{Level: l.Level, ReplaceAttr: durationsAsText}
	if l.Format == "text" {
		return slog.NewTextHandler(w, opts)
	}
	return slog.NewJSONHandler(w, opts)
}

// isRegistryStage reports whether s names a stage of the model registry,
// which a route's model may name after an @.
func isRegistryStage(s string) bool {
	_, err := registry.ParseStage(s)
	return err == nil
}
