// Package supplychain checks what AI systems are built from: the Python
// packages a project declares, locks or installs, against an offline
// copy of the OSV vulnerability database.
package supplychain

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/supplychain/deps"
	"github.com/modelgate/modelgate/supplychain/pep440"
	"github.com/modelgate/modelgate/supplychain/vulndb"
)

// Package is one dependency and what applies to it.
type Package struct {
	deps.Requirement
	File   string `json:"file"`
	Format string `json:"format"`
	// JudgedBy says what was checked: the exact version (pinned, locked
	// or installed) or the range the specifier allows.
	JudgedBy string `json:"judged_by"`
	// CoveredBy names the lock or installation whose exact version was
	// judged instead of this declaration.
	CoveredBy string         `json:"covered_by,omitempty"`
	Matches   []vulndb.Match `json:"matches,omitempty"`
	// Problem says why the package could not be judged (a specifier
	// that is not PEP 440); such a package is never reported clean.
	Problem string `json:"problem,omitempty"`
}

// Result is a dependency scan.
type Result struct {
	Database vulndb.Meta `json:"database"`
	Files    []string    `json:"files"`
	Packages []Package   `json:"packages"`
}

// ScanDeps judges every requirement of the files against the database.
// Where a lock file in the same directory, or an installation anywhere in
// the scan, gives a package's exact version, that version is judged, not
// the range a declaration allows.
func ScanDeps(db *vulndb.DB, files []deps.File) (*Result, error) {
	res := &Result{Database: db.Meta, Files: []string{}, Packages: []Package{}}
	lockedIn := map[string]map[string]string{} // directory → name → lock file
	installed := map[string]string{}           // name → where
	for _, f := range files {
		res.Files = append(res.Files, f.Path)
		for _, r := range f.Requirements {
			switch r.Kind {
			case deps.Locked:
				dir := filepath.Dir(f.Path)
				if lockedIn[dir] == nil {
					lockedIn[dir] = map[string]string{}
				}
				lockedIn[dir][r.Name] = f.Path
			case deps.Installed:
				installed[r.Name] = f.Path
			}
		}
	}
	cache := map[string][]vulndb.Advisory{}
	lookup := func(name string) ([]vulndb.Advisory, error) {
		if advs, ok := cache[name]; ok {
			return slices.Clone(advs), nil
		}
		advs, err := db.Lookup(name)
		if err != nil {
			return nil, err
		}
		cache[name] = advs
		return slices.Clone(advs), nil
	}
	for _, f := range files {
		for _, r := range f.Requirements {
			p := Package{Requirement: r, File: f.Path, Format: f.Format}
			if r.Kind == deps.Declared {
				if lock := lockedIn[filepath.Dir(f.Path)][r.Name]; lock != "" {
					p.CoveredBy = lock
				} else if inst := installed[r.Name]; inst != "" {
					p.CoveredBy = inst
				}
			}
			if p.CoveredBy != "" {
				p.JudgedBy = "the version in " + p.CoveredBy
				res.Packages = append(res.Packages, p)
				continue
			}
			advs, err := lookup(r.Name)
			if err != nil {
				return nil, err
			}
			judge(&p, advs)
			res.Packages = append(res.Packages, p)
		}
	}
	return res, nil
}

func judge(p *Package, advs []vulndb.Advisory) {
	spec, ok := p.PEP440()
	if !ok {
		p.Problem = fmt.Sprintf("%q is not a version constraint this scan can judge", p.Spec)
		p.JudgedBy = "nothing"
		return
	}
	set, err := pep440.ParseSet(spec)
	if err != nil {
		p.Problem = err.Error()
		p.JudgedBy = "nothing"
		return
	}
	if v, ok := set.Pin(); ok {
		p.JudgedBy = p.Kind + " version " + v.String()
		p.Matches = vulndb.CheckVersion(advs, v)
		return
	}
	p.JudgedBy = "the versions " + orAny(set.String()) + " allows"
	p.Matches = vulndb.CheckSet(advs, set)
}

func orAny(s string) string {
	if s == "" {
		return "any specifier"
	}
	return s
}

var (
	refsVuln    = []string{"CWE-1395", "LLM03", "AML.T0010"}
	refsPinning = []string{"CWE-1357", "LLM03"}
)

// Report returns the findings: vulnerable, possibly vulnerable and
// malicious packages, requirements that could not be judged, unpinned
// declarations and, in requirements files, pins without hashes.
func (r *Result) Report() *finding.Report {
	byFile := map[string]*finding.File{}
	file := func(p *Package) *finding.File {
		f := byFile[p.File]
		if f == nil {
			f = &finding.File{Path: p.File, Format: p.Format, Findings: []finding.Finding{}}
			byFile[p.File] = f
		}
		return f
	}
	for i := range r.Packages {
		p := &r.Packages[i]
		where := location(p)
		if p.Problem != "" {
			file(p).Findings = append(file(p).Findings, finding.Finding{RuleID: "DEP-UNJUDGED", Severity: finding.Medium,
				Title: p.Name + ": not checked for vulnerabilities", Location: where, Evidence: p.Problem,
				Remediation: "write the constraint in PEP 440 form, or pin the package", References: refsPinning})
		}
		for _, m := range p.Matches {
			file(p).Findings = append(file(p).Findings, matchFinding(p, m))
		}
		if p.Kind == deps.Declared && p.CoveredBy == "" && !p.Pinned && p.Problem == "" {
			file(p).Findings = append(file(p).Findings, finding.Finding{RuleID: "DEP-UNPINNED", Severity: finding.Low,
				Title: p.Name + " is not pinned", Location: where, Evidence: orAny(p.Spec),
				Remediation: "pin an exact version (==) or commit a lock file, so that builds install what was reviewed",
				References:  refsPinning})
		}
		if p.Format == "requirements" && p.Pinned && !p.Hashed && p.CoveredBy == "" {
			file(p).Findings = append(file(p).Findings, finding.Finding{RuleID: "DEP-UNHASHED", Severity: finding.Info,
				Title: p.Name + " is pinned without a hash", Location: where, Evidence: p.Spec,
				Remediation: "add --hash options (pip-compile --generate-hashes) and install with --require-hashes",
				References:  refsPinning})
		}
	}
	rep := &finding.Report{Files: []finding.File{}}
	for _, f := range byFile {
		rep.Files = append(rep.Files, *f)
	}
	rep.Summarise()
	return rep
}

func matchFinding(p *Package, m vulndb.Match) finding.Finding {
	a := m.Advisory
	sev := severity(a.Severity)
	var f finding.Finding
	switch {
	case a.Malicious():
		f = finding.Finding{RuleID: "DEP-MALICIOUS", Severity: finding.Critical, Title: p.Name + " is a malicious package (" + a.ID + ")",
			Remediation: "remove it, and treat every machine that installed it as compromised"}
	case m.Verdict == vulndb.Affected:
		f = finding.Finding{RuleID: "DEP-VULN", Severity: sev, Title: p.Name + " " + p.Version + " is affected by " + a.ID}
	default:
		if sev > finding.Low {
			sev-- // it may resolve to an affected version; it need not
		}
		f = finding.Finding{RuleID: "DEP-VULN-POSSIBLE", Severity: sev, Title: p.Name + " " + orAny(p.Spec) + " allows versions affected by " + a.ID}
	}
	f.Location = location(p)
	var ev []string
	if a.Summary != "" {
		ev = append(ev, a.Summary)
	}
	if len(a.Aliases) > 0 {
		ev = append(ev, "aliases "+strings.Join(a.Aliases, ", "))
	}
	if a.CVSS > 0 {
		ev = append(ev, fmt.Sprintf("CVSS %.1f", a.CVSS))
	}
	if len(m.Allowed) > 0 {
		more := ""
		if m.AllowedCount > len(m.Allowed) {
			more = fmt.Sprintf(" and %d more", m.AllowedCount-len(m.Allowed))
		}
		ev = append(ev, "allowed affected versions "+strings.Join(m.Allowed, ", ")+more)
	}
	if m.Range != "" {
		ev = append(ev, "allowed affected range "+m.Range)
	}
	fixed := a.Fixed()
	if len(fixed) > 0 {
		ev = append(ev, "fixed in "+strings.Join(fixed, ", "))
		if f.Remediation == "" {
			f.Remediation = "upgrade " + p.Name + " to a fixed version (" + strings.Join(fixed, ", ") + ") or later"
		}
	} else if f.Remediation == "" {
		f.Remediation = "no fixed version is known: replace " + p.Name + " or mitigate " + a.ID
	}
	f.Evidence = strings.Join(ev, "; ")
	f.References = append(append([]string{}, refsVuln...), a.ID)
	f.References = append(f.References, a.Aliases...)
	return f
}

// location is where in its file a requirement is: a line, or a TOML key.
func location(p *Package) string {
	if rest, ok := strings.CutPrefix(p.Source, p.File); ok {
		rest = strings.TrimLeft(rest, ": ")
		if rest != "" && rest[0] >= '0' && rest[0] <= '9' {
			return "line " + rest
		}
		if rest != "" {
			return rest
		}
	}
	return p.Source
}

func severity(s string) finding.Severity {
	switch s {
	case "critical":
		return finding.Critical
	case "high":
		return finding.High
	case "low":
		return finding.Low
	}
	return finding.Medium // medium, and unknown: not known to be low
}
