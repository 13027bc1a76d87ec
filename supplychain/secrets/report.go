package secrets

import (
	"fmt"
	"path/filepath"

	"github.com/modelgate/modelgate/finding"
)

// Verdict is what verification says of a leak: modelgate keys are matched
// against the store's key hashes, offline.
type Verdict struct {
	Severity finding.Severity
	Note     string
}

// Verifier judges a leak; ok is false when it has nothing to say.
type Verifier func(l *Leak) (v Verdict, ok bool)

var refsSecret = []string{"CWE-798", "LLM02"}

// Report turns leaks into findings: high unless verification says
// otherwise (a live modelgate key is critical). The value is never in a
// finding; the first 16 hex digits of its SHA-256 are.
func Report(leaks []Leak, verify Verifier) *finding.Report {
	byFile := map[string]*finding.File{}
	var order []string
	for i := range leaks {
		l := &leaks[i]
		f := byFile[l.Path]
		if f == nil {
			f = &finding.File{Path: l.Path, Format: "text", Findings: []finding.Finding{}}
			if l.InBinary {
				f.Format = "binary"
			}
			byFile[l.Path] = f
			order = append(order, l.Path)
		}
		fd := finding.Finding{RuleID: "SECRET", Severity: finding.High, Title: "credential in " + filepath.Base(l.Path) + " (" + l.Rule + ")",
			Evidence: fmt.Sprintf("rule %s, value sha256:%s…", l.Rule, l.SecretSHA256[:16]), References: refsSecret,
			Remediation: "revoke and rotate the credential, remove it from the file (and from history), and load it from a secret store at run time"}
		switch {
		case l.Commit != "":
			fd.Location = fmt.Sprintf("commit %s by %s at %s, line %d", l.Commit[:min(12, len(l.Commit))], l.Author, l.Date, l.Line)
		case l.InBinary:
			fd.Location = "printable strings of a binary file"
		default:
			fd.Location = fmt.Sprintf("line %d", l.Line)
		}
		if verify != nil {
			if v, ok := verify(l); ok {
				fd.Severity = v.Severity
				fd.Evidence += "; " + v.Note
			}
		}
		f.Findings = append(f.Findings, fd)
	}
	rep := &finding.Report{Files: []finding.File{}}
	for _, p := range order {
		rep.Files = append(rep.Files, *byFile[p])
	}
	rep.Summarise()
	return rep
}
