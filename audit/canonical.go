package audit

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendCanonical appends the event's RFC 8785 (JCS) canonical JSON.
//
// It is written by hand for speed: every request of the gateway produces an
// event, and a general encoder followed by canonicalisation costs several
// times more. Keys are emitted in the order JCS requires (sorted by UTF-16
// code units, which for these ASCII keys is byte order), strings are
// escaped as JCS requires, and every number is an integer except guard
// scores, which are rounded to six decimals so that their shortest form
// needs no exponent. `audit verify` re-canonicalises every stored leaf with
// an independent implementation (jsontext.Value.Canonicalize) and compares
// bytes, so the two keep each other honest; so does FuzzCanonical.
func appendCanonical(b []byte, e *Event) []byte {
	b = appendHead(b, e)
	b = strconv.AppendInt(b, e.Index, 10)
	return appendTail(b, e)
}

// appendHead writes everything up to the index value; appendTail the rest.
// The split lets request goroutines encode events in parallel and leaves
// the log's single writer only the index, assigned at commit, to splice in.
func appendHead(b []byte, e *Event) []byte {
	b = append(b, '{')
	b = appendKey(b, "action", true)
	b = appendString(b, e.Action)
	b = appendKey(b, "actor", false)
	b = appendActor(b, &e.Actor)
	b = appendKey(b, "decision", false)
	b = append(b, '{')
	b = appendKey(b, "outcome", true)
	b = appendString(b, e.Decision.Outcome)
	if e.Decision.Reason != "" {
		b = appendKey(b, "reason", false)
		b = appendString(b, e.Decision.Reason)
	}
	b = append(b, '}')
	if len(e.Details) > 0 {
		b = appendKey(b, "details", false)
		b = appendDetails(b, e.Details)
	}
	if len(e.Guards) > 0 {
		b = appendKey(b, "guards", false)
		b = append(b, '[')
		for i := range e.Guards {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendGuard(b, &e.Guards[i])
		}
		b = append(b, ']')
	}
	if e.HTTP != nil {
		b = appendKey(b, "http", false)
		b = append(b, '{')
		b = appendKey(b, "method", true)
		b = appendString(b, e.HTTP.Method)
		b = appendKey(b, "path", false)
		b = appendString(b, e.HTTP.Path)
		b = appendKey(b, "status", false)
		b = strconv.AppendInt(b, int64(e.HTTP.Status), 10)
		b = append(b, '}')
	}
	return appendKey(b, "index", false)
}

func appendTail(b []byte, e *Event) []byte {
	if e.LatencyUS != 0 {
		b = appendKey(b, "latency_us", false)
		b = strconv.AppendInt(b, e.LatencyUS, 10)
	}
	if e.Payloads.Input != nil || e.Payloads.Output != nil {
		b = appendKey(b, "payloads", false)
		b = append(b, '{')
		first := true
		if e.Payloads.Input != nil {
			b = appendKey(b, "input", first)
			b = appendPayload(b, e.Payloads.Input)
			first = false
		}
		if e.Payloads.Output != nil {
			b = appendKey(b, "output", first)
			b = appendPayload(b, e.Payloads.Output)
		}
		b = append(b, '}')
	}
	if e.RequestID != "" {
		b = appendKey(b, "request_id", false)
		b = appendString(b, e.RequestID)
	}
	if e.Resource != (Resource{}) {
		b = appendKey(b, "resource", false)
		b = appendResource(b, &e.Resource)
	}
	b = appendKey(b, "time", false)
	// An RFC 3339 time needs no escaping.
	b = append(b, '"')
	b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if e.UpstreamLatencyUS != 0 {
		b = appendKey(b, "upstream_latency_us", false)
		b = strconv.AppendInt(b, e.UpstreamLatencyUS, 10)
	}
	if e.Usage != nil {
		b = appendKey(b, "usage", false)
		b = append(b, '{')
		b = appendKey(b, "completion_tokens", true)
		b = strconv.AppendInt(b, e.Usage.CompletionTokens, 10)
		if e.Usage.Estimated {
			b = appendKey(b, "estimated", false)
			b = append(b, "true"...)
		}
		b = appendKey(b, "prompt_tokens", false)
		b = strconv.AppendInt(b, e.Usage.PromptTokens, 10)
		b = append(b, '}')
	}
	b = appendKey(b, "v", false)
	b = strconv.AppendInt(b, schemaVersion, 10)
	return append(b, '}')
}

func appendActor(b []byte, a *Actor) []byte {
	b = append(b, '{')
	first := true
	if a.ID != "" {
		b = appendKey(b, "id", first)
		b = appendString(b, a.ID)
		first = false
	}
	if a.IP != "" {
		b = appendKey(b, "ip", first)
		b = appendString(b, a.IP)
		first = false
	}
	b = appendKey(b, "kind", first)
	b = appendString(b, a.Kind)
	if a.UserAgent != "" {
		b = appendKey(b, "user_agent", false)
		b = appendString(b, a.UserAgent)
	}
	return append(b, '}')
}

func appendResource(b []byte, r *Resource) []byte {
	b = append(b, '{')
	first := true
	for _, f := range [...]struct{ k, v string }{{"id", r.ID}, {"model", r.Model}, {"model_digest", r.ModelDigest}, {"model_version", r.ModelVersion}, {"route", r.Route}} {
		if f.v == "" {
			continue
		}
		b = appendKey(b, f.k, first)
		b = appendString(b, f.v)
		first = false
	}
	return append(b, '}')
}

func appendGuard(b []byte, g *GuardResult) []byte {
	b = append(b, '{')
	first := true
	if g.DurationUS != 0 {
		b = appendKey(b, "duration_us", true)
		b = strconv.AppendInt(b, g.DurationUS, 10)
		first = false
	}
	if len(g.Entities) > 0 {
		b = appendKey(b, "entities", first)
		b = appendCounts(b, g.Entities)
		first = false
	}
	if g.Error != "" {
		b = appendKey(b, "error", first)
		b = appendString(b, g.Error)
		first = false
	}
	b = appendKey(b, "name", first)
	b = appendString(b, g.Name)
	if s := roundScore(g.Score); s != 0 {
		b = appendKey(b, "score", false)
		b = strconv.AppendFloat(b, s, 'f', -1, 64)
	}
	if g.Stage != "" {
		b = appendKey(b, "stage", false)
		b = appendString(b, g.Stage)
	}
	b = appendKey(b, "verdict", false)
	b = appendString(b, g.Verdict)
	return append(b, '}')
}

// roundScore keeps six decimals and clamps to what JSON can hold, so the
// shortest decimal form is also the one JCS prescribes (no exponent).
func roundScore(s float64) float64 {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return 0
	}
	s = math.Round(s*1e6) / 1e6
	return math.Max(-1e9, math.Min(1e9, s))
}

func appendPayload(b []byte, p *PayloadRef) []byte {
	b = append(b, '{')
	b = appendKey(b, "mode", true)
	b = appendString(b, p.Mode)
	b = appendKey(b, "sha256", false)
	b = appendString(b, p.SHA256)
	b = appendKey(b, "size", false)
	b = strconv.AppendInt(b, p.Size, 10)
	return append(b, '}')
}

// appendDetails writes a string map with its keys in JCS order: sorted by
// UTF-16 code units, which differs from byte order only for characters
// beyond U+FFFF.
func appendDetails(b []byte, m map[string]string) []byte {
	return appendMap(b, m, appendString)
}

// appendCounts writes a map of counts with its keys in JCS order.
func appendCounts(b []byte, m map[string]int64) []byte {
	return appendMap(b, m, func(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) })
}

func appendMap[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareUTF16)
	b = append(b, '{')
	for i, k := range keys {
		b = appendKey(b, k, i == 0)
		b = value(b, m[k])
	}
	return append(b, '}')
}

func compareUTF16(a, c string) int {
	ra, rc := []rune(a), []rune(c)
	var ua, uc []uint16
	for _, r := range ra {
		ua = appendUTF16(ua, r)
	}
	for _, r := range rc {
		uc = appendUTF16(uc, r)
	}
	return slices.Compare(ua, uc)
}

func appendUTF16(u []uint16, r rune) []uint16 {
	if r >= 0x10000 {
		r -= 0x10000
		return append(u, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
	}
	return append(u, uint16(r))
}

func appendKey(b []byte, k string, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = appendString(b, k)
	return append(b, ':')
}

// appendString writes a JSON string as JCS requires: only '"', '\\' and
// control characters are escaped, the latter as \b \t \n \f \r or \u00xx
// with lowercase hex; everything else, non-ASCII included, is literal.
// Invalid UTF-8 becomes U+FFFD, as a JSON text must be valid UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c >= 0x20:
				b = append(b, c)
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// Canonical returns the event's canonical JSON.
func (e *Event) Canonical() []byte { return appendCanonical(make([]byte, 0, 512), e) }

// String renders the event for humans.
func (e *Event) String() string {
	return fmt.Sprintf("#%d %s %s %s:%s %s", e.Index, e.Time.UTC().Format(time.RFC3339), e.Action, e.Actor.Kind, e.Actor.ID, e.Decision.Outcome)
}
