package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Signals are what the gateway notices about a request for the
// monitor's rules, which see only the audit event, never the request:
//
//   - prompt_fp: a keyed fingerprint of the request's user text,
//     normalised (case, spacing and punctuation ignored), so that the same
//     prompt sent by many keys or addresses shows without the log holding
//     the prompt, nor a hash anyone could test guesses against;
//   - near_duplicates: on classifier (KServe) requests, how many of the
//     inputs lie within a tenth of their size from the input before them
//     from the same caller: the pattern of boundary-walking evasion and of
//     model extraction.
type Signals struct {
	// Secret keys the prompt fingerprints; replicas must share it for
	// their fingerprints to match.
	Secret []byte
	// Inputs watch the numeric inputs of classifier routes, by route
	// name (live drift against a baseline): what they return goes into
	// the event's details.
	Inputs map[string]InputObserver
	// Texts watch the prompts of chat and completion routes, by route
	// name (live drift of their text features against a baseline).
	Texts map[string]TextObserver
}

// TextObserver watches a route's prompts.
type TextObserver interface {
	ObserveText(prompt string) map[string]string
}

// InputObserver watches a route's numeric inputs: rows of width values,
// sent by a caller (the key or client identity).
type InputObserver interface {
	Observe(caller string, numbers []float64, width int) map[string]string
}

// minFingerprintChars leaves short prompts ("hi", "thanks") without a
// fingerprint: many people send them, and nothing is learnt from that.
const minFingerprintChars = 40

// nearRelative is how close an input must be to the one before it to be
// a near duplicate: a tenth of the earlier input's L2 norm.
const nearRelative = 0.1

// signalState remembers each caller's last classifier input.
type signalState struct {
	macs *macPool // keyed with Signals.Secret
	mu   sync.Mutex
	last map[string][]float64
}

// maxSignalCallers bounds the callers remembered.
const maxSignalCallers = 1 << 16

func (g *Gateway) noteSignals(x *Exchange) {
	s := g.opts.Signals
	if s == nil || x.request == nil {
		return
	}
	if fp := fingerprint(g.signals.macs, x.Segments); fp != "" {
		x.SetSignal("prompt_fp", fp)
	}
	if x.Endpoint == EndpointInfer && x.Principal != nil && x.request.rowWidth > 0 {
		n := g.signals.nearDuplicates(x.Principal.ID, x.request.numbers, x.request.rowWidth)
		x.SetSignal("near_duplicates", strconv.Itoa(n))
	}
	if obs := s.Inputs[x.Route.Model]; obs != nil && x.Endpoint == EndpointInfer && x.request.rowWidth > 0 {
		caller := ""
		if x.Principal != nil {
			caller = x.Principal.ID
		}
		for k, v := range obs.Observe(caller, x.request.numbers, x.request.rowWidth) {
			x.SetSignal(k, v)
		}
	}
	if obs := s.Texts[x.Route.Model]; obs != nil && x.Endpoint != EndpointInfer {
		if prompt, ok := latestPrompt(x.Segments); ok {
			for k, v := range obs.ObserveText(prompt) {
				x.SetSignal(k, v)
			}
		}
	}
}

// latestPrompt is the last user text of a request: in a conversation the
// earlier turns were watched when they were new.
func latestPrompt(segs []Segment) (string, bool) {
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].Role == "user" || segs[i].Role == "" {
			return segs[i].Text, true
		}
	}
	return "", false
}

// fingerprint is HMAC-SHA256 over the normalised user text (letters and
// digits in lower case, every other run of characters one space), 16 hex
// digits; "" when there is too little text to mean anything. The text is
// normalised into a small buffer and hashed as it goes: no copy of the
// prompt is made.
func fingerprint(macs *macPool, segs []Segment) string {
	var buf [512]byte
	b := buf[:0]
	mac := macs.get()
	defer macs.put(mac)
	n := 0 // bytes of normalised text
	space := false
	for _, sg := range segs {
		if sg.Role != "user" && sg.Role != "" {
			continue
		}
		s := sg.Text
		for i := 0; i < len(s); {
			c := s[i]
			if c < utf8.RuneSelf {
				i++
				switch {
				case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
				case 'A' <= c && c <= 'Z':
					c += 'a' - 'A'
				default:
					space = true
					continue
				}
				if space && n > 0 {
					b = append(b, ' ')
					n++
				}
				space = false
				b = append(b, c)
				n++
			} else {
				r, size := utf8.DecodeRuneInString(s[i:])
				i += size
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					space = true
					continue
				}
				if space && n > 0 {
					b = append(b, ' ')
					n++
				}
				space = false
				before := len(b)
				b = utf8.AppendRune(b, unicode.ToLower(r))
				n += len(b) - before
			}
			if len(b) > len(buf)-utf8.UTFMax-1 {
				mac.Write(b)
				b = b[:0]
			}
		}
		space = true
	}
	if n < minFingerprintChars {
		return ""
	}
	mac.Write(b)
	var sum [sha256.Size]byte
	return hex.EncodeToString(mac.Sum(sum[:0])[:8])
}

// nearDuplicates counts the rows of a request within nearRelative of the
// row before them (the first against the caller's previous request), and
// remembers the last.
func (st *signalState) nearDuplicates(caller string, numbers []float64, width int) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.last == nil {
		st.last = map[string][]float64{}
	}
	prev := st.last[caller]
	n := 0
	var row []float64
	for start := 0; start+width <= len(numbers); start += width {
		row = numbers[start : start+width]
		if len(prev) == width && near(prev, row) {
			n++
		}
		prev = row
	}
	if row != nil {
		if len(st.last) >= maxSignalCallers {
			clear(st.last) // a bound: the next inputs start afresh
		}
		st.last[caller] = append([]float64(nil), row...)
	}
	return n
}

func near(a, b []float64) bool {
	var d, norm float64
	for i := range a {
		d += (a[i] - b[i]) * (a[i] - b[i])
		norm += a[i] * a[i]
	}
	return math.Sqrt(d) <= nearRelative*math.Max(math.Sqrt(norm), 1e-9)
}
