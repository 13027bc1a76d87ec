package redteam

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Run is one red-team run: what was attacked, with which secrets, and
// what came of it. It is the evidence a run leaves.
type Run struct {
	ID       string    `json:"id"`
	Suite    string    `json:"suite"`
	Target   string    `json:"target"`
	Model    string    `json:"model"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Canary and Record are the secrets planted for the run: a leak is
	// proven by them.
	Canary      string            `json:"canary"`
	Record      string            `json:"record"`
	Attempts    []Attempt         `json:"attempts"`
	Rates       map[string]*Rates `json:"rates"`
	Regressions []Regression      `json:"regressions,omitempty"`
	// Missing are baseline categories this run did not play.
	Missing []string `json:"missing,omitempty"`
}

// NewRun starts a run with fresh secrets.
func NewRun(suite, target, model string) *Run {
	var b [6]byte
	rand.Read(b[:])
	sec := NewSecrets()
	now := time.Now().UTC()
	return &Run{ID: now.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), Suite: suite, Target: target, Model: model,
		Started: now, Canary: sec.Canary, Record: sec.Record}
}

// Secrets returns the run's planted secrets.
func (r *Run) Secrets() Secrets { return Secrets{Canary: r.Canary, Record: r.Record} }

// Finish summarises the attempts and compares them with a baseline, if
// there is one.
func (r *Run) Finish(base *Baseline, tolerance float64) {
	r.Finished = time.Now().UTC()
	r.Rates = Summarise(r.Attempts)
	if base != nil {
		r.Regressions, r.Missing = Compare(base, r.Rates, tolerance)
	}
}

// A journal is a run's progress, one JSON document a line: the run's
// header (without attempts), then each attempt as it is judged. A run cut
// short resumes from it with the same secrets.
type journalHeader struct {
	Run *Run `json:"run"`
}

// CreateJournal writes a new journal for a run.
func CreateJournal(path string, r *Run) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	head := *r
	head.Attempts = nil
	j := &Journal{f: f}
	if err := j.write(journalHeader{Run: &head}); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// OpenJournal reads a journal and opens it to add the attempts still to
// come. A last line cut off mid-write is dropped.
func OpenJournal(path string) (*Run, *Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, nil, err
	}
	r, good, err := readJournal(f, path)
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, &Journal{f: f}, nil
}

// readJournal returns the run and the length of its complete lines.
func readJournal(rd io.Reader, name string) (*Run, int64, error) {
	br := bufio.NewReader(rd)
	var (
		r    *Run
		good int64
	)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if r == nil {
				return nil, 0, fmt.Errorf("%s: not a red-team journal (no run header)", name)
			}
			return r, good, nil // a partial last line is dropped
		}
		if err != nil {
			return nil, 0, err
		}
		if r == nil {
			var h journalHeader
			if json.Unmarshal(line, &h) != nil || h.Run == nil || h.Run.ID == "" {
				return nil, 0, fmt.Errorf("%s:%d: not a red-team journal header", name, n)
			}
			r = h.Run
		} else {
			var a Attempt
			if err := json.Unmarshal(line, &a); err != nil || a.Probe == "" {
				return nil, 0, fmt.Errorf("%s:%d: not an attempt", name, n)
			}
			r.Attempts = append(r.Attempts, a)
		}
		good += int64(len(line))
	}
}

// Journal appends attempts to a run's journal.
type Journal struct{ f *os.File }

// Add appends an attempt and syncs it, so a crash loses none judged.
func (j *Journal) Add(a Attempt) error {
	if err := j.write(a); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *Journal) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = j.f.Write(append(b, '\n'))
	return err
}

// Close closes the journal.
func (j *Journal) Close() error { return j.f.Close() }
