package audit

import (
	"errors"
	"fmt"
	"time"
)

// decodeEvent reads an event without reflection; see eventDecoder.
func decodeEvent(data []byte) (*Event, error) {
	var dec eventDecoder
	return dec.decode(data)
}

// eventDecoder reads events with a lexer written for them (see lexer),
// without reflection, reusing its buffers from one event to the next. It
// is lenient about order and layout because its caller re-encodes the
// result canonically and compares bytes: a leaf that decodes and
// re-encodes to itself is canonical and holds exactly an event.
type eventDecoder struct {
	l lexer
}

func (dec *eventDecoder) decode(data []byte) (*Event, error) {
	dec.l.reset(data)
	ev := &Event{}
	if err := dec.event(ev); err != nil {
		return nil, err
	}
	if err := dec.l.end(); err != nil {
		return nil, err
	}
	return ev, nil
}

// object reads an object whose members field decodes; field returns
// errUnknownField for a key it does not know, reported with the object's
// path. Every object of an event is read this way.
func (dec *eventDecoder) object(path string, field func(key []byte) error) error {
	if err := dec.l.expect('{'); err != nil {
		return err
	}
	for first := true; ; {
		more, err := dec.l.member(&first, '}')
		if err != nil || !more {
			return err
		}
		key, err := dec.l.key() // valid until the next read
		if err != nil {
			return err
		}
		if err := field(key); err == errUnknownField {
			return unknown(path + string(key))
		} else if err != nil {
			return err
		}
	}
}

var errUnknownField = errors.New("unknown field")

func (dec *eventDecoder) str() (string, error)    { return dec.l.str() }
func (dec *eventDecoder) integer() (int64, error) { return dec.l.integer() }
func (dec *eventDecoder) float() (float64, error) { return dec.l.float() }

func (dec *eventDecoder) event(ev *Event) error {
	return dec.object("", func(key []byte) (err error) {
		switch string(key) {
		case "action":
			ev.Action, err = dec.str()
		case "actor":
			err = dec.actor(&ev.Actor)
		case "decision":
			err = dec.decision(&ev.Decision)
		case "details":
			err = dec.details(ev)
		case "guards":
			err = dec.guards(ev)
		case "http":
			ev.HTTP = &HTTP{}
			err = dec.http(ev.HTTP)
		case "index":
			ev.Index, err = dec.integer()
		case "latency_us":
			ev.LatencyUS, err = dec.integer()
		case "upstream_latency_us":
			ev.UpstreamLatencyUS, err = dec.integer()
		case "payloads":
			err = dec.payloads(&ev.Payloads)
		case "request_id":
			ev.RequestID, err = dec.str()
		case "resource":
			err = dec.resource(&ev.Resource)
		case "time":
			var s string
			if s, err = dec.str(); err == nil {
				ev.Time, err = time.Parse(time.RFC3339Nano, s)
			}
		case "usage":
			ev.Usage = &Usage{}
			err = dec.usage(ev.Usage)
		case "v":
			var v int64
			if v, err = dec.integer(); err == nil && v != schemaVersion {
				err = fmt.Errorf("event schema version %d is not %d", v, schemaVersion)
			}
		default:
			err = errUnknownField
		}
		return err
	})
}

func (dec *eventDecoder) actor(a *Actor) error {
	return dec.object("actor.", func(key []byte) (err error) {
		switch string(key) {
		case "kind":
			a.Kind, err = dec.str()
		case "id":
			a.ID, err = dec.str()
		case "ip":
			a.IP, err = dec.str()
		case "user_agent":
			a.UserAgent, err = dec.str()
		default:
			err = errUnknownField
		}
		return err
	})
}

func (dec *eventDecoder) decision(d *Decision) error {
	return dec.object("decision.", func(key []byte) (err error) {
		switch string(key) {
		case "outcome":
			d.Outcome, err = dec.str()
		case "reason":
			d.Reason, err = dec.str()
		default:
			err = errUnknownField
		}
		return err
	})
}

// details reads the details map. Its keys may hold any text, so they are
// read as strings (unescaped), not as field names.
func (dec *eventDecoder) details(ev *Event) error {
	ev.Details = map[string]string{}
	return dec.members(func(key string) (err error) {
		ev.Details[key], err = dec.str()
		return err
	})
}

// members decodes an object whose keys are data (a map), calling value to
// decode the value of each key.
func (dec *eventDecoder) members(value func(key string) error) error {
	if err := dec.l.expect('{'); err != nil {
		return err
	}
	for first := true; ; {
		more, err := dec.l.member(&first, '}')
		if err != nil || !more {
			return err
		}
		key, err := dec.str()
		if err == nil {
			err = dec.l.expect(':')
		}
		if err == nil {
			err = value(key)
		}
		if err != nil {
			return err
		}
	}
}

func (dec *eventDecoder) guards(ev *Event) error {
	if err := dec.l.expect('['); err != nil {
		return err
	}
	for first := true; ; {
		more, err := dec.l.member(&first, ']')
		if err != nil || !more {
			return err
		}
		var g GuardResult
		err = dec.object("guards.", func(key []byte) (err error) {
			switch string(key) {
			case "name":
				g.Name, err = dec.str()
			case "verdict":
				g.Verdict, err = dec.str()
			case "duration_us":
				g.DurationUS, err = dec.integer()
			case "score":
				g.Score, err = dec.float()
			case "stage":
				g.Stage, err = dec.str()
			case "error":
				g.Error, err = dec.str()
			case "entities":
				g.Entities, err = dec.counts()
			default:
				err = errUnknownField
			}
			return err
		})
		if err != nil {
			return err
		}
		ev.Guards = append(ev.Guards, g)
	}
}

// counts decodes an object of integer values.
func (dec *eventDecoder) counts() (map[string]int64, error) {
	m := map[string]int64{}
	err := dec.members(func(key string) (err error) {
		m[key], err = dec.integer()
		return err
	})
	return m, err
}

func (dec *eventDecoder) http(h *HTTP) error {
	return dec.object("http.", func(key []byte) (err error) {
		switch string(key) {
		case "method":
			h.Method, err = dec.str()
		case "path":
			h.Path, err = dec.str()
		case "status":
			var n int64
			n, err = dec.integer()
			h.Status = int(n)
		default:
			err = errUnknownField
		}
		return err
	})
}

func (dec *eventDecoder) payloads(p *Payloads) error {
	return dec.object("payloads.", func(key []byte) error {
		ref := &PayloadRef{}
		switch string(key) {
		case PayloadInput:
			p.Input = ref
		case PayloadOutput:
			p.Output = ref
		default:
			return errUnknownField
		}
		return dec.object("payload.", func(key []byte) (err error) {
			switch string(key) {
			case "mode":
				ref.Mode, err = dec.str()
			case "sha256":
				ref.SHA256, err = dec.str()
			case "size":
				ref.Size, err = dec.integer()
			default:
				err = errUnknownField
			}
			return err
		})
	})
}

func (dec *eventDecoder) resource(r *Resource) error {
	return dec.object("resource.", func(key []byte) (err error) {
		switch string(key) {
		case "id":
			r.ID, err = dec.str()
		case "model":
			r.Model, err = dec.str()
		case "model_digest":
			r.ModelDigest, err = dec.str()
		case "model_version":
			r.ModelVersion, err = dec.str()
		case "route":
			r.Route, err = dec.str()
		default:
			err = errUnknownField
		}
		return err
	})
}

func (dec *eventDecoder) usage(u *Usage) error {
	return dec.object("usage.", func(key []byte) (err error) {
		switch string(key) {
		case "prompt_tokens":
			u.PromptTokens, err = dec.integer()
		case "completion_tokens":
			u.CompletionTokens, err = dec.integer()
		case "estimated":
			u.Estimated, err = dec.l.boolean()
		default:
			err = errUnknownField
		}
		return err
	})
}

func unknown(key string) error { return fmt.Errorf("unknown field %q", key) }

// interned are string values that recur in almost every event; reading
// them costs no allocation.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		ActionInvoke, ActionDenied, ActionModelsRead, ActionHealthCheck, ActionStreamStart, ActionStreamInterrupted,
		ActionErase, ActionRetention, ActionServerStart, ActionServerStop,
		Allowed, Denied, Failed, ActorAPIKey, ActorMTLS, ActorAdmin, ActorSystem, ActorAnonymous,
		CaptureFull, CaptureRedacted, CaptureHash, "GET", "POST", "HEAD",
		"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models", "127.0.0.1",
	} {
		m[s] = s
	}
	return m
}()

// Decoder reads events in their canonical JSON, as the log stores them,
// faster than ParseEvent: it knows the schema and keeps its buffers from
// one event to the next. A field it does not know is an error. The zero
// value is ready; one Decoder is not for concurrent use.
type Decoder struct{ d eventDecoder }

// Decode reads one event.
func (d *Decoder) Decode(data []byte) (*Event, error) { return d.d.decode(data) }
