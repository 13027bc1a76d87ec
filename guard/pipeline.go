package guard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrBudget is a guard's error when it overran its time budget.
var ErrBudget = errors.New("guard overran its time budget")

// Pipeline runs guards in order over a message. Each guard sees the text as
// the guards before it left it; the first to block stops the rest.
type Pipeline struct {
	Guards []Guard
	// Budget bounds each guard's time per BudgetUnit bytes of text (a
	// message of up to 32 KiB gets one Budget, one of 200 KB seven); zero
	// means no bound. Guards' work grows with the text, so a fixed bound
	// would fail the largest prompts a route allows while still letting a
	// pathological pattern run long on a small one. A guard that overruns
	// has failed, and a failed guard is handled as FailOpen says.
	Budget time.Duration
	// FailOpen lets a message pass when a guard fails. The zero value fails
	// closed: the message is blocked, since a guard that did not run must
	// never count as passed.
	FailOpen bool
}

// Outcome is what a pipeline decided about a message.
type Outcome struct {
	Results []Result
	// Blocked is the result that stopped the message, or nil.
	Blocked *Result
	// Changed reports whether any text was rewritten.
	Changed bool
}

// Verdict returns the message's overall verdict.
func (o *Outcome) Verdict() Verdict {
	v := Allow
	for _, r := range o.Results {
		v = max(v, r.Verdict)
	}
	return v
}

// Run inspects texts and rewrites them in place as the guards decide. The
// vault issues the placeholders of Mask and the pseudonyms of Hash.
func (p *Pipeline) Run(ctx context.Context, texts []*Text, vault *Vault) Outcome {
	var out Outcome
	if vault == nil {
		vault = new(Vault)
	}
	for _, g := range p.Guards {
		res := p.inspect(ctx, g, texts)
		if res.Err != nil {
			if p.FailOpen {
				out.Results = append(out.Results, res)
				continue
			}
			res.Verdict = Block
		}
		out.Results = append(out.Results, res)
		if res.Verdict == Block {
			out.Blocked = &out.Results[len(out.Results)-1]
			return out
		}
		if res.Verdict == Redact {
			apply(texts, res.Findings, vault)
			out.Changed = true
		}
	}
	return out
}

// Scan runs every guard over the same texts without rewriting them, so
// every finding's span refers to the texts as given. A stream's hold-back
// window needs this: it must see where each match lies before deciding how
// much text to release. Scan stops at the first guard that blocks.
func (p *Pipeline) Scan(ctx context.Context, texts []*Text) Outcome {
	var out Outcome
	for _, g := range p.Guards {
		res := p.inspect(ctx, g, texts)
		if res.Err != nil && !p.FailOpen {
			res.Verdict = Block
		}
		out.Results = append(out.Results, res)
		if res.Verdict == Block {
			out.Blocked = &out.Results[len(out.Results)-1]
			return out
		}
	}
	return out
}

// Rewrite applies the rewrites that findings call for to texts.
func Rewrite(texts []*Text, fs []Finding, vault *Vault) {
	if vault == nil {
		vault = new(Vault)
	}
	apply(texts, fs, vault)
}

// inspect runs one guard, turning a panic or an overrun of the budget into
// the result's error. The budget is judged when the guard returns, not
// enforced by a deadline on its context: guards take microseconds, and a
// timer per guard per message would cost more than most guards do. A
// guard that overran is failed all the same.
func (p *Pipeline) inspect(ctx context.Context, g Guard, texts []*Text) (res Result) {
	start := time.Now()
	budget := p.budgetFor(texts)
	defer func() {
		if r := recover(); r != nil {
			res = Result{Guard: g.Name(), Err: fmt.Errorf("guard %s panicked: %v", g.Name(), r)}
		}
		res.Duration = time.Since(start)
		if res.Err == nil && budget > 0 && res.Duration > budget {
			res.Err = ErrBudget
		}
	}()
	res, err := g.Inspect(ctx, texts)
	res.Guard = g.Name()
	res.Err = err
	return res
}

// BudgetUnit is how many bytes of text one Budget covers.
const BudgetUnit = 32 << 10

// budgetFor returns the time a guard may take over texts: one Budget per
// BudgetUnit bytes, or part of one.
func (p *Pipeline) budgetFor(texts []*Text) time.Duration {
	if p.Budget <= 0 {
		return 0
	}
	n := 0
	for _, t := range texts {
		n += len(t.Text)
	}
	return p.Budget * time.Duration(1+n/BudgetUnit)
}

// apply rewrites the spans of findings that change text. Where spans
// overlap, the one that starts first (the longer, at a tie) wins.
func apply(texts []*Text, fs []Finding, vault *Vault) {
	edits := make([]Finding, 0, len(fs))
	for _, f := range fs {
		if f.Action != FlagIt && f.Action != BlockIt && f.Action != Ignore {
			edits = append(edits, f)
		}
	}
	slices.SortFunc(edits, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Segment, b.Segment), cmp.Compare(a.Start, b.Start), cmp.Compare(b.End, a.End))
	})
	for i := 0; i < len(edits); {
		seg := edits[i].Segment
		t := texts[seg]
		var b strings.Builder
		b.Grow(len(t.Text))
		pos := 0
		for ; i < len(edits) && edits[i].Segment == seg; i++ {
			f := edits[i]
			if f.Start < pos || f.End > len(t.Text) {
				continue // overlaps a span already rewritten
			}
			b.WriteString(t.Text[pos:f.Start])
			b.WriteString(replacement(f, t.Text[f.Start:f.End], vault))
			pos = f.End
		}
		b.WriteString(t.Text[pos:])
		t.set(b.String())
	}
}

func replacement(f Finding, value string, vault *Vault) string {
	switch f.Action {
	case Mask:
		return vault.placeholder(f.Entity, value)
	case Hash:
		return vault.pseudonym(f.Entity, value)
	case Strip:
		return ""
	}
	return "<" + f.Entity + ">"
}
