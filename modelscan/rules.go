package modelscan

import (
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

// scanPickle walks a pickle and judges its imports. member names the
// archive member it came from ("" at top level); within an archive a
// stream that does not parse as a pickle at all is not one (lenient is
// set), while a top-level file that looked like one must parse.
func (s *Scanner) scanPickle(r io.Reader, member string, lenient bool) []finding.Finding {
	res, err := pickle.Walk(r, pickle.Limits{})
	var out []finding.Finding
	loc := func(off int64) string {
		if member != "" {
			return fmt.Sprintf("%s, offset %d", member, off)
		}
		return fmt.Sprintf("offset %d", off)
	}
	if err != nil {
		if lenient {
			return nil
		}
		return []finding.Finding{{RuleID: "MS101", Severity: finding.High, Title: "file looks like a pickle but is not one", Location: loc(0),
			Evidence: err.Error(), References: refsTamper}}
	}
	if lenient && res.Pickles == 0 && len(res.Imports) == 0 {
		return nil // bytes that merely start like a pickle: data, not code
	}
	seen := map[string]bool{}
	for _, imp := range res.Imports {
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
		verdict, sev := s.Policy.classify(imp.Module, imp.Name)
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
	return out
}

func evidence(imp pickle.Import) string {
	s := imp.Full() + " via " + imp.Opcode
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
