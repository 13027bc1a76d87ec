package inline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

// Guards read every string of a message except the metadata: an answer can
// carry text anywhere (content, content parts, refusals, reasoning, tool
// and function-call arguments, fields a server invents), and text the
// guards did not read must not pass as checked. metadataKeys are the member
// names whose values are identifiers, enumerations or model names.
var metadataKeys = map[string]bool{
	"id": true, "object": true, "model": true, "role": true, "type": true, "finish_reason": true,
	"system_fingerprint": true, "service_tier": true, "tool_call_id": true, "name": true,
	"datatype": true, "model_name": true, "model_version": true, "detail": true, "format": true,
}

// metadata reports whether the string at ptr is metadata, not text.
func metadata(ptr string) bool {
	last := ptr[strings.LastIndexByte(ptr, '/')+1:]
	if metadataKeys[last] {
		return true
	}
	// Image URLs (often data: URIs of megabytes) are not text to read.
	return strings.Contains(ptr, "/image_url/") || strings.Contains(ptr, "/input_audio/")
}

// logprobs hold the answer again, token by token, where no detector can
// see a credential whole; answers checked by output guards lose them.
var logprobs = []string{"/choices/#/logprobs"}

// matchPointer reports whether a JSON Pointer fits a pattern.
func matchPointer(ptr, pattern string) bool {
	for {
		if pattern == "" || ptr == "" {
			return pattern == ptr
		}
		if pattern == "/*" {
			return true
		}
		pseg, prest := cutSegment(pattern)
		seg, rest := cutSegment(ptr)
		switch pseg {
		case "#":
			if seg == "" || strings.Trim(seg, "0123456789") != "" {
				return false
			}
		default:
			if seg != pseg {
				return false
			}
		}
		pattern, ptr = prest, rest
	}
}

func cutSegment(p string) (seg, rest string) {
	p = p[1:]
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[:i], p[i:]
	}
	return p, ""
}

// textFields returns the string values of a JSON document that are not
// metadata, in document order.
func textFields(data []byte) ([]guard.Segment, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data))
	var out []guard.Segment
	for {
		tok, err := dec.ReadToken()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if tok.Kind() != '"' {
			continue
		}
		if k, n := dec.StackIndex(dec.StackDepth()); k == '{' && n%2 == 1 {
			continue // a member name
		}
		if ptr := string(dec.StackPointer()); !metadata(ptr) {
			out = append(out, guard.Segment{Path: ptr, Role: "assistant", Text: tok.String()})
		}
	}
}

type filter struct{}

// FilterBody runs a route's output guards on a complete answer and puts
// masked values back.
func (filter) FilterBody(x *gateway.Exchange, status int, body []byte) ([]byte, error) {
	st := stateOf(x)
	if st == nil || status < 200 || status > 299 {
		return body, nil
	}
	restore := st.p.Restore && st.vault.Len() > 0
	if x.Endpoint == gateway.EndpointEmbeddings || len(st.p.Output.Guards) == 0 && !restore {
		return body, nil // embeddings are vectors, not text
	}
	segs, err := textFields(body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer's text: %w", err)
	}
	texts := guard.NewTexts(segs)
	out := st.p.Output.Run(st.ctx, texts, &st.vault)
	record(x, "output", out.Results)
	if out.Blocked != nil {
		return nil, blocked(out.Blocked, "response", http.StatusBadGateway, gateway.TypeUpstream)
	}
	repl := map[string]string{}
	for i, t := range texts {
		if restore {
			t.Text = st.vault.Restore(t.Text)
		}
		if t.Text != segs[i].Text {
			repl[t.Path] = t.Text
		}
	}
	var drop []string
	if len(st.p.Output.Guards) > 0 && bytes.Contains(body, []byte(`"logprobs"`)) {
		drop = logprobs
	}
	if len(repl) == 0 && drop == nil {
		return body, nil
	}
	return rewriteJSON(body, repl, nil, drop)
}
