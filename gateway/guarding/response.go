package guarding

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/modelgate/modelgate/gateway"
	"github.com/modelgate/modelgate/guard"
)

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
	segs, err := textFields(body, "assistant")
	if err != nil {
		return nil, fmt.Errorf("reading the answer's text: %w", err)
	}
	texts := guard.NewTexts(segs)
	out := st.p.Output.Run(st.ctx, texts, &st.vault)
	record(x, "output", out.Results)
	if out.Blocked != nil {
		return nil, st.p.answerBlocked(out.Blocked)
	}
	orig := make([]string, len(segs))
	for i, s := range segs {
		orig[i] = s.Text
	}
	if t := unrewritable(texts, orig); t != nil {
		return nil, st.p.withhold("", nil, fmt.Sprintf("the response was blocked: %s at %s holds what a guard must rewrite, and it cannot be rewritten in place", kindName(t.Kind), t.Path))
	}
	repl := map[string]string{}
	for i, t := range texts {
		if restore && t.Kind.Rewritable() {
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
