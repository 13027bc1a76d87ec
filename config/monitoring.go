package config

import (
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
}

// AlertSink is where alerts are delivered.
type AlertSink struct {
	Name string
	// Type is webhook (the alert as JSON) or slack (a Slack-compatible
	// incoming-webhook message).
	Type       string
	URL        string
	Credential *store.Credential
}

type monitoringFile struct {
	Enabled   *bool  `yaml:"enabled"`
	RulesFile string `yaml:"rules_file"`
	Alerts    []struct {
		Name       string    `yaml:"name"`
		Type       string    `yaml:"type"`
		URL        string    `yaml:"url"`
		Credential *credFile `yaml:"credential"`
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
	names := map[string]bool{}
	for i, a := range m.Alerts {
		key := "monitoring.alerts[" + strconv.Itoa(i) + "]"
		if a.Name == "" || names[a.Name] {
			v.fail(key+".name", "a unique name is required")
		}
		names[a.Name] = true
		if a.Type != "webhook" && a.Type != "slack" {
			v.fail(key+".type", "must be webhook or slack, got %q", a.Type)
		}
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			v.fail(key+".url", "must be an http or https URL, got %q", a.URL)
		}
		cred := a.Credential.credential()
		if cred != nil && (cred.Env == "") == (cred.File == "") {
			v.fail(key+".credential", "set exactly one of env and file")
		}
		c.Monitoring.Alerts = append(c.Monitoring.Alerts, AlertSink{Name: a.Name, Type: a.Type, URL: a.URL, Credential: cred})
	}
}
