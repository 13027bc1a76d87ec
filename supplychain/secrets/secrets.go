// Package secrets finds credentials in source trees and in git history
// with gitleaks' rules (as a library: no gitleaks or git binary), plus a
// rule for modelgate's own API keys. Each git blob is scanned once,
// however many commits hold it. Values never leave the package: a leak is
// known by its rule, place and the SHA-256 of its value.
package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	mgsecrets "github.com/modelgate/modelgate/guard/secrets"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
)

// RuleModelgateKey is the rule for modelgate API keys.
const RuleModelgateKey = "modelgate-api-key"

// allowComment, on a line, allows the credential on it (gitleaks' own
// gitleaks:allow works too).
const allowComment = "modelgate:allow"

// Leak is one credential found.
type Leak struct {
	Rule string `json:"rule"`
	Path string `json:"path"`
	Line int    `json:"line,omitempty"`
	// Commit, Author and Date say where in history (empty for files on
	// disk).
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	Date   string `json:"date,omitempty"`
	// SecretSHA256 identifies the value without revealing it.
	SecretSHA256 string `json:"secret_sha256"`
	// InBinary says the value was found in the printable strings of a
	// binary file (a model, an archive).
	InBinary bool   `json:"in_binary,omitempty"`
	secret   string // for verification only; never serialised
}

// Key identifies a leak for baselines: the rule, the path and the value's
// digest, not the line, so moving code does not make it new.
func (l *Leak) Key() string { return l.Rule + "\x00" + l.Path + "\x00" + l.SecretSHA256 }

// Secret returns the value, for verifying it against a store; callers
// must not print it.
func (l *Leak) Secret() string { return l.secret }

var detector = sync.OnceValues(func() (*detect.Detector, error) {
	base, err := mgsecrets.GitleaksConfig()
	if err != nil {
		return nil, err
	}
	// The shared configuration is copied before a rule is added to it.
	cfg := base
	cfg.Rules = maps.Clone(base.Rules)
	cfg.Keywords = maps.Clone(base.Keywords)
	cfg.OrderedRules = slices.Clone(base.OrderedRules)
	cfg.Rules[RuleModelgateKey] = config.Rule{RuleID: RuleModelgateKey, Description: "modelgate API key",
		Regex: regexp.MustCompile(`\b(mg_[a-z2-7]{12}_[a-z2-7]{52})\b`), SecretGroup: 1, Keywords: []string{"mg_"}}
	cfg.OrderedRules = append(cfg.OrderedRules, RuleModelgateKey)
	cfg.Keywords["mg_"] = struct{}{}
	return detect.NewDetector(cfg), nil
})

// maxFile bounds what is read of one file or blob.
const maxFile = 32 << 20

// scanContent finds the leaks in one file's content.
func scanContent(d *detect.Detector, path string, b []byte) []Leak {
	binary := !textLike(b)
	if binary {
		b = printableStrings(b)
		if len(b) == 0 {
			return nil
		}
	}
	var out []Leak
	for _, f := range d.Detect(detect.Fragment{Raw: string(b), FilePath: path}) {
		if strings.Contains(f.Line, allowComment) {
			continue
		}
		sum := sha256.Sum256([]byte(f.Secret))
		l := Leak{Rule: f.RuleID, Path: path, SecretSHA256: hex.EncodeToString(sum[:]), InBinary: binary, secret: f.Secret}
		if !binary {
			l.Line = f.StartLine + 1
		}
		out = append(out, l)
	}
	return out
}

// textLike reports whether content reads as text: no NUL in its first
// 8 KiB (what git itself looks at).
func textLike(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8<<10)], 0) < 0
}

// printableStrings returns the runs of at least 8 printable ASCII bytes in
// b, one per line: credentials hidden in models and archives.
func printableStrings(b []byte) []byte {
	var out []byte
	start := -1
	for i := 0; i <= len(b); i++ {
		printable := i < len(b) && b[i] >= 0x20 && b[i] < 0x7f
		switch {
		case printable && start < 0:
			start = i
		case !printable && start >= 0:
			if i-start >= 8 {
				out = append(append(out, b[start:i]...), '\n')
			}
			start = -1
		}
	}
	return out
}

// parallel runs fn over items with a worker per CPU and gathers the
// leaks; the first error stops the feeding and is returned.
func parallel[T any](ctx context.Context, items []T, fn func(T) ([]Leak, error)) ([]Leak, error) {
	var mu sync.Mutex
	var out []Leak
	var first error
	work := make(chan T)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				ls, err := fn(it)
				mu.Lock()
				out = append(out, ls...)
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, it := range items {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, ctx.Err()
}

func sortLeaks(ls []Leak) {
	slices.SortFunc(ls, func(a, b Leak) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		return strings.Compare(a.Commit, b.Commit)
	})
}
