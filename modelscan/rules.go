package modelscan

import (
	"bytes"
	"fmt"
	"io"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan/pickle"
)

// Reference sets.
var (
	refsCode     = []string{"CWE-502", "LLM03", "AML.T0010", "AML.T0011"}
	refsTamper   = []string{"CWE-434", "LLM03", "AML.T0010"}
	refsResource = []string{"CWE-409", "LLM10"}
	refsPath     = []string{"CWE-22", "LLM03", "AML.T0010"}
)

// walk walks a pickle with the scanner's limits, the ways its loaders
// read it.
func (s *Scanner) walk(r io.ReaderAt, size int64) (*pickle.Result, error) {
	return pickle.WalkFile(r, size, pickle.Limits{Loader: loadsPayload})
}

// scanPickle walks a pickle and judges it. member names the archive
// member it came from ("" at top level). Within an archive a stream that
// does not parse as a pickle at all is not one (lenient is set, and nil
// comes back), while a top-level file that looked like one must parse.
func (s *Scanner) scanPickle(r io.ReaderAt, size int64, member string, lenient bool, depth int) []finding.Finding {
	res, err := s.walk(r, size)
	if err != nil || res.Pickles == 0 && len(res.Imports) == 0 && len(res.Incomplete) == 0 {
		if lenient {
			return nil
		}
		why := "not even its first opcode is valid"
		if err == nil && res.Err != nil {
			why = res.Err.Error()
		}
		return []finding.Finding{{RuleID: "MS101", Severity: finding.High, Title: "file looks like a pickle but is not one", Location: locate(member, 0),
			Evidence: why, References: refsTamper}}
	}
	return s.judgePickle(res, member, depth)
}

func locate(member string, off int64) string {
	if member != "" {
		return fmt.Sprintf("%s, offset %d", member, off)
	}
	return fmt.Sprintf("offset %d", off)
}

// judgePickle turns a walk into findings.
func (s *Scanner) judgePickle(res *pickle.Result, member string, depth int) []finding.Finding {
	var out []finding.Finding
	loc := func(off int64) string { return locate(member, off) }
	seen := map[string]bool{}
	for _, imp := range res.Imports {
		out = append(out, s.judgeCall(imp, loc, depth)...)
		key := imp.Full()
		if seen[key] {
			continue
		}
		seen[key] = true
		if imp.Dynamic {
			out = append(out, finding.Finding{RuleID: "MS102", Severity: finding.High, Title: "pickle imports a callable whose name is computed at load time",
				Location: loc(imp.Offset), Evidence: imp.Full(), References: refsCode,
				Remediation: "do not load this file with pickle; ask for safetensors"})
			continue
		}
		verdict, sev := s.Policy.classifyImport(imp)
		switch verdict {
		case verdictDangerous:
			rule, title := "MS001", "pickle imports a callable that can run code or reach the system"
			if sev == finding.High {
				rule, title = "MS002", "pickle imports a callable that reaches the network"
			}
			out = append(out, finding.Finding{RuleID: rule, Severity: sev, Title: title, Location: loc(imp.Offset),
				Evidence: evidence(imp), References: refsCode,
				Remediation: "do not load this file; it runs code when unpickled (torch.load, joblib.load, pickle.load)"})
		case verdictUnknown:
			out = append(out, finding.Finding{RuleID: "MS003", Severity: finding.Medium, Title: "pickle imports a callable that is not on the allowlist",
				Location: loc(imp.Offset), Evidence: evidence(imp), References: refsCode,
				Remediation: "review the callable; if it is safe, add it to modelscan.allow"})
		}
	}
	if res.Extensions > 0 {
		out = append(out, finding.Finding{RuleID: "MS004", Severity: finding.Medium, Title: "pickle refers to the copyreg extension registry",
			Location: loc(0), Evidence: fmt.Sprintf("%d EXT opcodes resolve to callables chosen at load time", res.Extensions), References: refsCode})
	}
	if res.Err != nil {
		out = append(out, finding.Finding{RuleID: "MS005", Severity: finding.High, Title: "pickle is malformed or truncated; what came before was still judged",
			Location: loc(errOffset(res.Err)), Evidence: res.Err.Error(), References: refsTamper})
	}
	if res.TrailingBytes > 0 {
		out = append(out, finding.Finding{RuleID: "MS006", Severity: finding.Medium, Title: "bytes follow the last pickle",
			Location: loc(0), Evidence: fmt.Sprintf("%d bytes after %d pickle(s)", res.TrailingBytes, res.Pickles), References: refsTamper})
	}
	for _, why := range res.Incomplete {
		out = append(out, incomplete(loc(0), why))
	}
	for _, why := range res.Divergent {
		out = append(out, finding.Finding{RuleID: "MS009", Severity: finding.Low, Title: "loaders read this pickle differently",
			Location: loc(0), Evidence: why, References: refsTamper,
			Remediation: "a file that one loader refuses and another accepts is not what it claims to be; do not load it"})
	}
	return out
}

// incomplete is the finding for a limit the scan reached: what lies past
// it was not checked, so the file is not clean.
func incomplete(loc, why string) finding.Finding {
	return finding.Finding{RuleID: "MS008", Severity: finding.High, Title: "scan incomplete: a limit was reached, so not everything was checked",
		Location: loc, Evidence: why, References: refsResource,
		Remediation: "treat the file as unchecked"}
}

// judgeCall judges what a call passes: nested payloads handed to a
// loader are scanned in turn, and sizes that allocate gigabytes are a
// denial of service.
func (s *Scanner) judgeCall(imp pickle.Import, loc func(int64) string, depth int) []finding.Finding {
	var out []finding.Finding
	for i, p := range imp.Payloads {
		where := fmt.Sprintf("%s (payload %d of %s)", loc(imp.Offset), i+1, imp.Resolved())
		if depth >= s.maxDepth() {
			out = append(out, incomplete(where, "nested payloads deeper than the scanner follows"))
			continue
		}
		for _, f := range s.scan("payload", bytes.NewReader(p), int64(len(p)), depth+1) {
			for _, fd := range f.Findings {
				fd.Location = where + ": " + fd.Location
				out = append(out, fd)
			}
			if f.Error != "" {
				out = append(out, incomplete(where, f.Error))
			}
		}
	}
	if imp.PayloadUnread {
		out = append(out, finding.Finding{RuleID: "MS010", Severity: finding.High, Title: "pickle hands a loader data the scanner could not read",
			Location: loc(imp.Offset), Evidence: imp.Resolved() + " is called with data built at load time", References: refsCode,
			Remediation: "do not load this file: the nested data is another pickle or model that was not checked"})
	}
	if imp.LargeArg {
		out = append(out, finding.Finding{RuleID: "MS011", Severity: finding.High, Title: "pickle calls a constructor with a size that allocates gigabytes (denial of service)",
			Location: loc(imp.Offset), Evidence: fmt.Sprintf("%s called with an integer of at least %d", imp.Resolved(), pickle.LargeInt), References: refsResource})
	}
	return out
}

func evidence(imp pickle.Import) string {
	s := imp.Full() + " via " + imp.Opcode
	if imp.Resolved() != imp.Full() {
		s = imp.Full() + " (" + imp.Resolved() + ") via " + imp.Opcode
	}
	if imp.Called {
		s += ", called"
	}
	return s
}

func errOffset(err error) int64 {
	if pe, ok := err.(*pickle.Error); ok {
		return pe.Offset
	}
	return 0
}
