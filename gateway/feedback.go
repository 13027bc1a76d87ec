package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Feedback lets the people who see a model's answers say that one was
// wrong, harmful, leaked something or looks suspicious: POST /v1/feedback
// with the request's id, by the API key that made the request or with the
// short-lived token every inference answer carries in X-Feedback-Token
// (so a browser front end can send it without holding a key).
type Feedback struct {
	// Secret signs the tokens; replicas must share it.
	Secret []byte
	// TTL is how long a token is accepted (default 24h).
	TTL time.Duration

	macsOnce sync.Once
	macs     *macPool
}

// mac returns an HMAC state keyed with the secret; put it back after.
func (f *Feedback) mac() (*macPool, hash.Hash) {
	f.macsOnce.Do(func() { f.macs = newMACPool(f.Secret) })
	return f.macs, f.macs.get()
}

// FeedbackTokenHeader carries an answer's feedback token.
const FeedbackTokenHeader = "X-Feedback-Token"

// Feedback categories.
var feedbackCategories = []string{"wrong", "harmful", "leak", "suspicious", "other"}

// feedbackRequest is the body of POST /v1/feedback.
type feedbackRequest struct {
	RequestID string `json:"request_id"`
	// Rating is -1 (bad), 0 or 1 (good).
	Rating   *int   `json:"rating"`
	Category string `json:"category"`
	Comment  string `json:"comment"`
	Token    string `json:"token"`
}

// FeedbackDetails are what a feedback exchange records: set on the
// exchange for the recorder.
type FeedbackDetails struct {
	RequestID string
	Rating    int
	Category  string
	// Via is "key" or "token".
	Via string
}

type feedbackKey struct{}

// FeedbackOf returns the feedback an exchange carried, if it was one.
func FeedbackOf(x *Exchange) (FeedbackDetails, bool) {
	d, ok := x.Value(feedbackKey{}).(FeedbackDetails)
	return d, ok
}

// tokenClaims is what a feedback token binds: the request, who made it,
// which model version answered, until when.
type tokenClaims struct {
	RequestID string `json:"r"`
	Caller    string `json:"c,omitempty"`
	Model     string `json:"m,omitempty"`
	Version   string `json:"v,omitempty"`
	Expires   int64  `json:"e"`
}

func (f *Feedback) ttl() time.Duration {
	if f.TTL > 0 {
		return f.TTL
	}
	return 24 * time.Hour
}

// token signs claims: base64url(JSON) "." base64url(HMAC-SHA256).
func (f *Feedback) token(c tokenClaims) string {
	body, _ := json.Marshal(c)
	macs, mac := f.mac()
	defer macs.put(mac)
	mac.Write(body)
	var sum [sha256.Size]byte
	return "mgf." + base64.RawURLEncoding.EncodeToString(body) + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(sum[:0]))
}

// verify checks a token and returns its claims.
func (f *Feedback) verify(tok string, now time.Time) (tokenClaims, error) {
	var c tokenClaims
	rest, ok := strings.CutPrefix(tok, "mgf.")
	body64, sig64, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || len(tok) > 2048 {
		return c, errors.New("the feedback token is malformed")
	}
	body, err1 := base64.RawURLEncoding.DecodeString(body64)
	sig, err2 := base64.RawURLEncoding.DecodeString(sig64)
	if err1 != nil || err2 != nil {
		return c, errors.New("the feedback token is malformed")
	}
	macs, mac := f.mac()
	defer macs.put(mac)
	mac.Write(body)
	var sum [sha256.Size]byte
	if !hmac.Equal(sig, mac.Sum(sum[:0])) {
		return c, errors.New("the feedback token is not valid")
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, errors.New("the feedback token is malformed")
	}
	if now.Unix() > c.Expires {
		return c, errors.New("the feedback token has expired")
	}
	return c, nil
}

// issueFeedbackToken adds a token for this exchange to its answer.
func (g *Gateway) issueFeedbackToken(x *Exchange) {
	f := g.opts.Feedback
	if f == nil || len(f.Secret) == 0 {
		return
	}
	c := tokenClaims{RequestID: x.ID, Model: x.Model, Version: x.ModelVersion, Expires: time.Now().Add(f.ttl()).Unix()}
	if x.Principal != nil {
		c.Caller = x.Principal.ID
	}
	x.W.Header().Set(FeedbackTokenHeader, f.token(c))
	g.recent.add(x.ID, c)
}

// recentRequests remembers the latest requests' claims, so that feedback
// sent with an API key (not a token) can name the model version that
// answered; and the feedback already taken, so that the same feedback
// sent twice is recorded once.
type recentRequests struct {
	mu       sync.Mutex
	claims   map[string]tokenClaims
	order    []string
	next     int
	feedback map[string]string // request id + submitter -> digest of what was said
}

const recentSize = 1 << 16

func (r *recentRequests) add(id string, c tokenClaims) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.claims == nil {
		r.claims, r.order, r.feedback = map[string]tokenClaims{}, make([]string, recentSize), map[string]string{}
	}
	if old := r.order[r.next]; old != "" {
		delete(r.claims, old)
	}
	r.order[r.next], r.claims[id] = id, c
	r.next = (r.next + 1) % recentSize
}

func (r *recentRequests) get(id string) (tokenClaims, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.claims[id]
	return c, ok
}

// same reports whether this submitter already said exactly this about
// the request, and remembers it.
func (r *recentRequests) same(key, digest string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.feedback == nil {
		r.feedback = map[string]string{}
	}
	if r.feedback[key] == digest {
		return true
	}
	if len(r.feedback) >= recentSize {
		clear(r.feedback) // a bound, not an index: a repeat after it is recorded again
	}
	r.feedback[key] = digest
	return false
}

const maxFeedbackBody = 16 << 10

// serveFeedback takes feedback on an earlier answer.
func (g *Gateway) serveFeedback(x *Exchange) {
	f := g.opts.Feedback
	if f == nil || len(f.Secret) == 0 {
		x.Refuse(refusal(http.StatusNotFound, TypeNotFound, "feedback_disabled", "feedback is not enabled on this gateway"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(x.R.Body, maxFeedbackBody+1))
	if err != nil {
		x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "body_unreadable", "cannot read the request body: %v", err))
		return
	}
	if len(body) > maxFeedbackBody {
		x.Refuse(refusal(http.StatusRequestEntityTooLarge, TypeInvalidRequest, "request_too_large", "feedback is at most %d bytes", maxFeedbackBody))
		return
	}
	var req feedbackRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		x.Refuse(refusal(http.StatusBadRequest, TypeInvalidRequest, "invalid_json", "the feedback is not the JSON expected: %v", err))
		return
	}
	switch {
	case req.RequestID == "" || len(req.RequestID) > 128:
		x.Refuse(fieldRefusal("request_id is required: the X-Request-Id of the answer"))
		return
	case req.Rating == nil || *req.Rating < -1 || *req.Rating > 1:
		x.Refuse(fieldRefusal("rating is required: -1 (bad), 0 or 1 (good)"))
		return
	case req.Category != "" && !slices.Contains(feedbackCategories, req.Category):
		x.Refuse(fieldRefusal("category must be one of %s, got %q", strings.Join(feedbackCategories, ", "), req.Category))
		return
	case utf8.RuneCountInString(req.Comment) > 2000 || !utf8.ValidString(req.Comment):
		x.Refuse(fieldRefusal("comment must be valid UTF-8 of at most 2,000 characters"))
		return
	}
	tok := x.R.Header.Get(FeedbackTokenHeader)
	if tok == "" {
		tok = req.Token
	}
	d := FeedbackDetails{RequestID: req.RequestID, Rating: *req.Rating, Category: req.Category}
	submitter := ""
	switch {
	case x.R.Header.Get("Authorization") != "" || x.R.Header.Get("X-Api-Key") != "":
		if !g.authenticate(x) {
			return
		}
		d.Via, submitter = "key", x.Principal.ID
		c, known := g.recent.get(req.RequestID)
		if tok != "" {
			if c, err = f.verify(tok, time.Now()); err != nil || c.RequestID != req.RequestID {
				x.Refuse(refusal(http.StatusForbidden, TypePermission, "invalid_feedback_token", "the feedback token does not belong to request %s", req.RequestID))
				return
			}
			known = true
		}
		if known && c.Caller != "" && c.Caller != x.Principal.ID {
			x.Refuse(refusal(http.StatusForbidden, TypePermission, "not_your_request", "request %s was made by another caller", req.RequestID))
			return
		}
		if known {
			x.Model, x.ModelVersion = c.Model, c.Version
		}
	case tok != "":
		c, err := f.verify(tok, time.Now())
		if err != nil {
			x.Refuse(refusal(http.StatusUnauthorized, TypeAuthentication, "invalid_feedback_token", "%v", err))
			return
		}
		if c.RequestID != req.RequestID {
			x.Refuse(refusal(http.StatusForbidden, TypePermission, "invalid_feedback_token", "the feedback token is for another request"))
			return
		}
		d.Via, submitter = "token", "token:"+c.Caller
		x.Model, x.ModelVersion = c.Model, c.Version
	default:
		r := refusal(http.StatusUnauthorized, TypeAuthentication, "missing_api_key",
			"send the API key that made the request, or the answer's %s", FeedbackTokenHeader)
		r.Header = http.Header{"Www-Authenticate": {`Bearer realm="modelgate"`}}
		x.Refuse(r)
		return
	}
	sum := sha256.Sum256(body)
	status := "recorded"
	if g.recent.same(req.RequestID+"\x00"+submitter, string(sum[:])) {
		status = "unchanged"
	} else {
		x.SetValue(feedbackKey{}, d)
		x.RawBody = body
	}
	writeJSON(x.W, http.StatusOK, map[string]string{"request_id": req.RequestID, "status": status, "rating": strconv.Itoa(d.Rating)})
}
