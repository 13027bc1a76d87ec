package config

import (
	"net/url"
	"strconv"

	"time"

	"github.com/modelgate/modelgate/audit"
	"golang.org/x/mod/sumdb/note"

	"github.com/modelgate/modelgate/access"
	"github.com/modelgate/modelgate/store"
)

func (t *tlsFile) upstreamTLS() *store.UpstreamTLS {
	if t == nil {
		return nil
	}
	return &store.UpstreamTLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName}
}

func (c *credFile) credential() *store.Credential {
	if c == nil {
		return nil
	}
	return &store.Credential{Env: c.Env, File: c.File, Header: c.Header, Prefix: c.Prefix}
}

func (v *validator) buildAudit(f *file, c *Config) {
	a := f.Audit
	if a == nil {
		return
	}
	if a.Mode != nil {
		switch *a.Mode {
		case "fail_closed", "best_effort":
			c.Audit.Mode = *a.Mode
		default:
			v.fail("audit.mode", "must be fail_closed or best_effort, got %q", *a.Mode)
		}
	}
	if a.Capture != nil {
		for _, m := range []struct {
			key, mode string
			into      *string
		}{{"audit.capture.input", a.Capture.Input, &c.Audit.Capture.Input}, {"audit.capture.output", a.Capture.Output, &c.Audit.Capture.Output}} {
			if m.mode == "" {
				continue
			}
			if !store.ValidCapture(m.mode) {
				v.fail(m.key, "must be full, redacted, hash or none, got %q", m.mode)
			}
			*m.into = m.mode
		}
	}
	if a.CheckpointEvery != nil {
		if *a.CheckpointEvery <= 0 {
			v.fail("audit.checkpoint_every", "must be at least 1, got %d", *a.CheckpointEvery)
		}
		c.Audit.CheckpointEvery = *a.CheckpointEvery
	}
	if a.CheckpointInterval != nil {
		v.duration("audit.checkpoint_interval", *a.CheckpointInterval, &c.Audit.CheckpointInterval)
	}
	if a.BatchMax != nil {
		if *a.BatchMax <= 0 || *a.BatchMax > 65536 {
			v.fail("audit.batch_max", "must be between 1 and 65536, got %d", *a.BatchMax)
		}
		c.Audit.BatchMax = *a.BatchMax
	}
	if a.BatchWait != nil {
		v.duration("audit.batch_wait", *a.BatchWait, &c.Audit.BatchWait)
		// Every fail-closed response may wait this long: keep it short.
		if c.Audit.BatchWait < 0 || c.Audit.BatchWait > 100*time.Millisecond {
			v.fail("audit.batch_wait", "must be between 0s and 100ms, got %s", *a.BatchWait)
		}
	}
	if a.PayloadRetention != nil && *a.PayloadRetention != "" {
		d, err := access.ParseTTL(*a.PayloadRetention)
		if err != nil {
			v.fail("audit.payload_retention", "%v", err)
		}
		c.Audit.PayloadRetention = d
	}
	names := map[string]bool{}
	for i, fw := range a.Forwarders {
		key := "audit.forwarders[" + strconv.Itoa(i) + "]"
		out := Forwarder{Name: fw.Name, Type: fw.Type, Address: fw.Address, TLS: fw.TLS.upstreamTLS(), URL: fw.URL,
			Credential: fw.Credential.credential(), BatchSize: fw.BatchSize, Path: fw.Path, MaxBytes: fw.MaxBytes, MaxFiles: fw.MaxFiles, Format: fw.Format}
		if fw.Name == "" {
			v.fail(key+".name", "is required: it names the forwarder's saved position")
		} else if names[fw.Name] {
			v.fail(key+".name", "forwarder %q is defined twice", fw.Name)
		}
		names[fw.Name] = true
		switch fw.Type {
		case "syslog":
			if fw.Address == "" {
				v.fail(key+".address", "is required for syslog (host:port)")
			}
			if fw.Format != "" && fw.Format != "rfc5424" && fw.Format != "cef" {
				v.fail(key+".format", "syslog carries rfc5424 (JSON message) or cef, got %q", fw.Format)
			}
		case "webhook":
			if fw.URL == "" {
				v.fail(key+".url", "is required for webhook")
			}
			if fw.Format != "" && fw.Format != "jsonl" && fw.Format != "ocsf" {
				v.fail(key+".format", "a webhook carries jsonl or ocsf, got %q", fw.Format)
			}
			if c := fw.Credential; c != nil && (c.Env == "") == (c.File == "") {
				v.fail(key+".credential", "set exactly one of env and file")
			}
		case "file":
			if fw.Path == "" {
				v.fail(key+".path", "is required for file")
			}
			if fw.Format != "" && fw.Format != "jsonl" && fw.Format != "ocsf" && fw.Format != "cef" {
				v.fail(key+".format", "a file holds jsonl, ocsf or cef, got %q", fw.Format)
			}
		default:
			v.fail(key+".type", "must be syslog, webhook or file, got %q", fw.Type)
		}
		if fw.BatchSize < 0 || fw.MaxBytes < 0 || fw.MaxFiles < 0 {
			v.fail(key, "batch_size, max_bytes and max_files must not be negative")
		}
		c.Audit.Forwarders = append(c.Audit.Forwarders, out)
	}
	for i, w := range a.Witnesses {
		key := "audit.witnesses[" + strconv.Itoa(i) + "]"
		switch {
		case (w.Dir == "") == (w.URL == ""):
			v.fail(key, "set exactly one of dir (a directory witness) and url (a tlog-witness)")
		case w.URL != "":
			if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				v.fail(key+".url", "must be an http(s) URL, got %q", w.URL)
			}
			if w.Key != "" {
				if _, err := audit.NewCosignatureVerifier(w.Key); err != nil {
					v.fail(key+".key", "%v", err)
				}
			}
		case w.Key != "":
			v.fail(key+".key", "a directory witness does not cosign; key goes with url")
		}
		c.Audit.Witnesses = append(c.Audit.Witnesses, Witness{Dir: w.Dir, URL: w.URL, Key: w.Key})
	}
	if a.RequireWitnesses != nil {
		if *a.RequireWitnesses && len(a.Witnesses) == 0 {
			v.fail("audit.require_witnesses", "needs witnesses to require")
		}
		c.Audit.RequireWitnesses = *a.RequireWitnesses
	}
	if ws := a.WitnessServer; ws != nil {
		if ws.Dir == "" {
			v.fail("audit.witness_server.dir", "is required: where the witness keeps checkpoints")
		}
		if ws.KeyFile == "" {
			v.fail("audit.witness_server.key_file", "is required: the witness's cosigning key (modelgate audit witness keygen)")
		}
		if len(ws.Logs) == 0 {
			v.fail("audit.witness_server.logs", "lists the verifier keys of the logs it witnesses; there are none")
		}
		for i, k := range ws.Logs {
			if _, err := note.NewVerifier(k); err != nil {
				v.fail("audit.witness_server.logs["+strconv.Itoa(i)+"]", "not a log verifier key: %v", err)
			}
		}
		c.Audit.WitnessServer = &WitnessServer{Dir: ws.Dir, KeyFile: ws.KeyFile, Logs: ws.Logs}
	}
}
