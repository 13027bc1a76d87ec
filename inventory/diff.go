package inventory

import (
	"maps"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/finding"
)

// Diff is what changed between two inventories.
type Diff struct {
	Old     Ref      `json:"old"`
	New     Ref      `json:"new"`
	Added   []Asset  `json:"added"`
	Removed []Asset  `json:"removed"`
	Changed []Change `json:"changed"`
	// NewFindings are the findings of added assets, and those changed
	// assets gained: an unsigned or unscanned model, a new AI key.
	NewFindings []AssetFinding `json:"new_findings"`
}

// Ref names an inventory in a diff.
type Ref struct {
	ID      string `json:"id,omitempty"`
	TakenAt string `json:"taken_at"`
	Assets  int    `json:"assets"`
}

// Change is an asset present in both, with what differs.
type Change struct {
	Asset Asset    `json:"asset"`
	What  []string `json:"what"`
}

// AssetFinding is a finding with the asset it is about.
type AssetFinding struct {
	AssetID string          `json:"asset_id"`
	Kind    Kind            `json:"kind"`
	Path    string          `json:"path"`
	Name    string          `json:"name"`
	Finding finding.Finding `json:"finding"`
}

func refOf(inv *Inventory) Ref {
	return Ref{ID: inv.ID, TakenAt: inv.TakenAt.Format("2006-01-02T15:04:05Z07:00"), Assets: len(inv.Assets)}
}

// Compare returns what changed from old to new. Assets are matched by id
// (kind, path and name); a matched asset changed when its content
// (digest, fingerprint, size), what it says (attributes) or its status
// did.
func Compare(old, new *Inventory) *Diff {
	d := &Diff{Old: refOf(old), New: refOf(new), Added: []Asset{}, Removed: []Asset{}, Changed: []Change{}, NewFindings: []AssetFinding{}}
	was := map[string]*Asset{}
	for i := range old.Assets {
		was[old.Assets[i].ID] = &old.Assets[i]
	}
	seen := map[string]bool{}
	for i := range new.Assets {
		a := &new.Assets[i]
		seen[a.ID] = true
		o, ok := was[a.ID]
		if !ok {
			d.Added = append(d.Added, *a)
			for _, f := range a.Findings {
				d.NewFindings = append(d.NewFindings, AssetFinding{a.ID, a.Kind, a.Path, a.Name, f})
			}
			continue
		}
		if what := changes(o, a); len(what) > 0 {
			d.Changed = append(d.Changed, Change{Asset: *a, What: what})
		}
		had := map[string]bool{}
		for _, f := range o.Findings {
			had[f.RuleID+"\x00"+f.Title] = true
		}
		for _, f := range a.Findings {
			if !had[f.RuleID+"\x00"+f.Title] {
				d.NewFindings = append(d.NewFindings, AssetFinding{a.ID, a.Kind, a.Path, a.Name, f})
			}
		}
	}
	for i := range old.Assets {
		if !seen[old.Assets[i].ID] {
			d.Removed = append(d.Removed, old.Assets[i])
		}
	}
	return d
}

func changes(o, a *Asset) []string {
	var what []string
	switch {
	case o.Digest != "" && a.Digest != "" && o.Digest != a.Digest,
		o.Fingerprint != a.Fingerprint, o.Size != a.Size:
		what = append(what, "content")
	}
	if !maps.Equal(o.Attrs, a.Attrs) {
		var keys []string
		for k := range a.Attrs {
			if o.Attrs[k] != a.Attrs[k] {
				keys = append(keys, k)
			}
		}
		for k := range o.Attrs {
			if _, ok := a.Attrs[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		what = append(what, "attributes: "+strings.Join(keys, ", "))
	}
	os, ns := statusOf(o), statusOf(a)
	for _, c := range []struct{ name, was, is string }{
		{"registered", os.Registered, ns.Registered}, {"stage", os.Stage, ns.Stage},
		{"signature", os.Signature, ns.Signature}, {"scan", os.Scan, ns.Scan},
		{"routes", strings.Join(os.Routes, ","), strings.Join(ns.Routes, ",")},
	} {
		if c.was != c.is {
			what = append(what, c.name+": "+orNone(c.was)+" → "+orNone(c.is))
		}
	}
	return what
}

func statusOf(a *Asset) Status {
	if a.Status == nil {
		return Status{}
	}
	return *a.Status
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Fails reports whether the diff brought a finding at least as severe as
// the threshold.
func (d *Diff) Fails(threshold finding.Severity) bool {
	for _, f := range d.NewFindings {
		if f.Finding.Severity >= threshold {
			return true
		}
	}
	return false
}

// Empty reports whether nothing changed.
func (d *Diff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}
