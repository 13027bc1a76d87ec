package injection

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/modelgate/modelgate/guard"
)

// Remote is a guard that asks an external classifier (a Prompt Guard-class
// model served elsewhere) to score each text. It POSTs {"text": "..."} and
// expects {"score": 0.93} back, with the score the probability of an
// attack. Answers are cached by the text's digest. A call that fails or
// times out fails the guard, which the pipeline's fail mode then decides.
type Remote struct {
	URL       string
	Timeout   time.Duration // per call; default 2s
	Threshold float64       // default DefaultThreshold
	Action    guard.Action  // default BlockIt
	Roles     []string      // default every role
	Client    *http.Client

	cache lru
}

// NewRemote returns a remote guard keeping the scores of up to cacheSize
// distinct texts.
func NewRemote(url string, cacheSize int) *Remote {
	return &Remote{URL: url, cache: lru{max: cacheSize}}
}

// Name identifies the guard.
func (r *Remote) Name() string { return "injection_remote" }

// Inspect scores every text with the remote classifier.
func (r *Remote) Inspect(ctx context.Context, texts []*guard.Text) (guard.Result, error) {
	start := time.Now()
	res := guard.Result{Guard: r.Name()}
	threshold, action := r.Threshold, r.Action
	if threshold == 0 {
		threshold = DefaultThreshold
	}
	if action == guard.Ignore {
		action = guard.BlockIt
	}
	for i, t := range texts {
		if !guard.RoleMatches(r.Roles, t.Role) || t.Text == "" {
			continue
		}
		score, err := r.score(ctx, t.Text)
		if err != nil {
			res.Duration = time.Since(start)
			return res, err
		}
		res.Score = max(res.Score, score)
		if score >= threshold {
			res.Findings = append(res.Findings, guard.Finding{Entity: Entity, Segment: i, Start: 0, End: len(t.Text), Score: score, Action: action})
			res.Verdict = max(res.Verdict, action.Verdict())
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

func (r *Remote) score(ctx context.Context, text string) (float64, error) {
	key := sha256.Sum256([]byte(text))
	if s, ok := r.cache.get(key); ok {
		return s, nil
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body, _ := json.Marshal(map[string]string{"text": text})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("injection classifier: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("injection classifier answered %s", resp.Status)
	}
	var out struct {
		Score *float64 `json:"score"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil || out.Score == nil || *out.Score < 0 || *out.Score > 1 {
		return 0, fmt.Errorf("injection classifier: want {\"score\": 0..1}, got an unusable answer (%v)", err)
	}
	r.cache.put(key, *out.Score)
	return *out.Score, nil
}

// lru is a small least-recently-used cache of scores; the zero value with
// max 0 caches nothing.
type lru struct {
	mu    sync.Mutex
	max   int
	order list.List // of *lruEntry, most recent first
	items map[[32]byte]*list.Element
}

type lruEntry struct {
	key   [32]byte
	score float64
}

func (c *lru) get(k [32]byte) (float64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry).score, true
	}
	return 0, false
}

func (c *lru) put(k [32]byte, s float64) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[[32]byte]*list.Element{}
	}
	if e, ok := c.items[k]; ok {
		e.Value.(*lruEntry).score = s
		c.order.MoveToFront(e)
		return
	}
	c.items[k] = c.order.PushFront(&lruEntry{k, s})
	if c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*lruEntry).key)
	}
}
