package config

import (
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/modelgate/modelgate/monitor"
	"github.com/modelgate/modelgate/store"
)

// Monitoring configures the detection rules over the audit log and where
// their alerts go.
type Monitoring struct {
	// Disabled turns the monitor off (it is on by default).
	Disabled bool
	// Rules are the rules in force: the embedded defaults with the rules
	// file's added or replacing them by id.
	Rules     []monitor.Rule
	RulesFile string
	Alerts    []AlertSink
	// FingerprintSecret keys the gateway's prompt fingerprints; replicas
	// must share one for their fingerprints to match. Without it each
	// process makes its own at start.
	FingerprintSecret *store.Credential
	// Drift watches classifier routes' inputs against baseline profiles.
	Drift []DriftWatch
}

// DriftWatch compares a route's live inputs with a baseline profile.
type DriftWatch struct {
	Route    string
	Baseline string   // a profile written by modelgate data profile
	Columns  []string // the baseline columns the input holds, in order
	Window   int
	P        float64
}

// AlertSink is where alerts are delivered.
type AlertSink struct {
	Name string
	// Type is webhook (the alert as JSON), slack (a Slack-compatible
	// incoming-webhook message) or email (SMTP).
	Type       string
	URL        string
	Credential *store.Credential // webhook: a header; email: the password
	// Email: the SMTP server (host:port), sender, recipients and user.
	SMTP     string
	From     string
	To       []string
	Username string
}

type monitoringFile struct {
	Enabled           *bool     `yaml:"enabled"`
	RulesFile         string    `yaml:"rules_file"`
	FingerprintSecret *credFile `yaml:"fingerprint_secret"`
	Drift             []struct {
		Route    string   `yaml:"route"`
		Baseline string   `yaml:"baseline"`
		Columns  []string `yaml:"columns"`
		Window   int      `yaml:"window"`
		P        float64  `yaml:"p"`
	} `yaml:"drift"`
	Alerts []struct {
		Name       string    `yaml:"name"`
		Type       string    `yaml:"type"`
		URL        string    `yaml:"url"`
		Credential *credFile `yaml:"credential"`
		SMTP       string    `yaml:"smtp"`
		From       string    `yaml:"from"`
		To         []string  `yaml:"to"`
		Username   string    `yaml:"username"`
	} `yaml:"alerts"`
}

func (v *validator) buildMonitoring(f *file, c *Config) {
	defaults, err := monitor.DefaultRules()
	if err != nil {
		v.fail("monitoring", "the embedded rules: %v", err)
		return
	}
	c.Monitoring.Rules = defaults
	m := f.Monitoring
	if m == nil {
		return
	}
	c.Monitoring.Disabled = m.Enabled != nil && !*m.Enabled
	if cred := m.FingerprintSecret.credential(); cred != nil {
		if (cred.Env == "") == (cred.File == "") {
			v.fail("monitoring.fingerprint_secret", "set exactly one of env and file")
		}
		c.Monitoring.FingerprintSecret = cred
	}
	if m.RulesFile != "" {
		c.Monitoring.RulesFile = m.RulesFile
		b, err := os.ReadFile(m.RulesFile)
		if err != nil {
			v.fail("monitoring.rules_file", "%v", err)
		} else if user, err := monitor.ParseRules(m.RulesFile, b); err != nil {
			v.fail("monitoring.rules_file", "%v", err)
		} else {
			c.Monitoring.Rules = monitor.Merge(defaults, user)
		}
	}
	for i, d := range m.Drift {
		key := "monitoring.drift[" + strconv.Itoa(i) + "]"
		if d.Route == "" {
			v.fail(key+".route", "a route is required")
		}
		if d.Baseline == "" {
			v.fail(key+".baseline", "a baseline profile (modelgate data profile --out) is required")
		} else {
			v.exists(key+".baseline", d.Baseline)
		}
		if d.Window != 0 && (d.Window < 20 || d.Window > 100_000) {
			v.fail(key+".window", "must be 20 to 100,000 rows, got %d", d.Window)
		}
		if d.P < 0 || d.P >= 1 {
			v.fail(key+".p", "must be between 0 and 1, got %g", d.P)
		}
		c.Monitoring.Drift = append(c.Monitoring.Drift, DriftWatch{Route: d.Route, Baseline: d.Baseline, Columns: d.Columns, Window: d.Window, P: d.P})
	}
	names := map[string]bool{}
	for i, a := range m.Alerts {
		key := "monitoring.alerts[" + strconv.Itoa(i) + "]"
		if a.Name == "" || names[a.Name] {
			v.fail(key+".name", "a unique name is required")
		}
		names[a.Name] = true
		switch a.Type {
		case "webhook", "slack":
			if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.fail(key+".url", "must be an http or https URL, got %q", a.URL)
			}
		case "email":
			if _, _, err := net.SplitHostPort(a.SMTP); err != nil {
				v.fail(key+".smtp", "must be the SMTP server as host:port, got %q", a.SMTP)
			}
			if a.From == "" || len(a.To) == 0 {
				v.fail(key, "an email sink needs from and to")
			}
			if (a.Username == "") != (a.Credential == nil) {
				v.fail(key+".username", "username and credential (the password) go together")
			}
		default:
			v.fail(key+".type", "must be webhook, slack or email, got %q", a.Type)
		}
		cred := a.Credential.credential()
		if cred != nil && (cred.Env == "") == (cred.File == "") {
			v.fail(key+".credential", "set exactly one of env and file")
		}
		c.Monitoring.Alerts = append(c.Monitoring.Alerts, AlertSink{Name: a.Name, Type: a.Type, URL: a.URL, Credential: cred,
			SMTP: a.SMTP, From: a.From, To: a.To, Username: a.Username})
	}
}
