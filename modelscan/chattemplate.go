package modelscan

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/modelgate/modelgate/finding"
)

var refsTemplate = []string{"CWE-1336", "LLM03", "AML.T0010", "AML.T0011"}

// unsafeTemplateNames are attributes Jinja's sandbox refuses besides any
// that starts with an underscore (jinja2.sandbox.is_internal_attribute:
// type.mro, the frame and code objects a generator or coroutine exposes),
// and the names through which a template that has reached Python's
// internals runs a program. A chat template has no use for any of them.
var unsafeTemplateNames = map[string]bool{
	"mro": true, "gi_frame": true, "gi_code": true, "gi_yieldfrom": true, "cr_frame": true, "cr_code": true,
	"cr_await": true, "ag_code": true, "ag_frame": true, "ag_await": true, "f_globals": true, "f_locals": true,
	"f_builtins": true, "f_back": true, "f_code": true, "tb_frame": true, "tb_next": true, "func_globals": true,
	"func_code": true, "im_func": true, "os": true, "popen": true, "subprocess": true, "import": true,
	"import_module": true, "eval": true, "exec": true, "execfile": true, "check_output": true, "getoutput": true,
	"getstatusoutput": true, "spawnv": true, "spawnl": true, "execv": true, "execl": true, "builtins": true,
	"modules": true, "globals": true,
}

// unsafeTemplateName reports whether a name a template reaches is one of
// Python's internals. A dotted name is judged by each of its parts.
func unsafeTemplateName(name string) bool {
	for part := range strings.SplitSeq(name, ".") {
		if strings.HasPrefix(part, "_") || unsafeTemplateNames[part] {
			return true
		}
	}
	return false
}

// dunderConst matches a string that is a name or dotted path with a
// dunder in it, whatever the template then does with it: a second net
// under the flow analysis, for a name that reaches an attribute by a way
// the analysis does not follow. Prose that mentions __init__ is not one.
var dunderConst = regexp.MustCompile(`^\s*[\w.]*__[A-Za-z0-9]\w*__[\w.]*\s*$`)

// checkChatTemplate judges a Jinja chat template by what it reaches:
// rendered by jinja2 without the sandbox, a template that reaches
// Python's internals runs code on the server that renders it.
func checkChatTemplate(src, where string) []finding.Finding {
	reach, err := analyzeTemplate(src)
	if err != nil {
		out := []finding.Finding{{RuleID: "MS504", Severity: finding.Medium,
			Title:    "chat template is not Jinja the scanner can parse, so what it reaches was not checked",
			Location: where, Evidence: err.Error(), References: refsTemplate,
			Remediation: "check that jinja2 parses the template; if it does, review it by hand"}}
		if m := sstiPattern.FindString(src); m != "" {
			out = append(out, sstiFinding(where, "names "+m, excerpt(src, m)))
		}
		return out
	}
	var unsafe []string
	seen := map[string]bool{}
	add := func(name string) {
		if !seen[name] {
			seen[name] = true
			unsafe = append(unsafe, name)
		}
	}
	for _, n := range reach.names {
		if unsafeTemplateName(n) {
			add(n)
		}
	}
	for _, c := range reach.consts {
		if dunderConst.MatchString(c) {
			add(c)
		}
	}
	var out []finding.Finding
	if len(unsafe) > 0 {
		out = append(out, sstiFinding(where, fmt.Sprintf("reaches %q", unsafe), ""))
	}
	if len(reach.dynamic) > 0 {
		out = append(out, finding.Finding{RuleID: "MS503", Severity: finding.High,
			Title:    "chat template reaches attributes whose names only rendering knows",
			Location: where, Evidence: strings.Join(dedupe(reach.dynamic), "; "), References: refsTemplate,
			Remediation: "render templates in a sandboxed Jinja environment, or replace the template"})
	}
	return out
}

func sstiFinding(where, what, context string) finding.Finding {
	evidence := what
	if context != "" {
		evidence += ": " + context
	}
	return finding.Finding{RuleID: "MS502", Severity: finding.Critical,
		Title:    "chat template reaches Python internals (server-side template injection)",
		Location: where, Evidence: evidence, References: refsTemplate,
		Remediation: "render templates in a sandboxed Jinja environment, or replace the template"}
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// templateFile reports whether a text file holds chat templates:
// Hugging Face's tokenizer_config.json and chat_template.jinja files.
func templateFile(name string) bool {
	base := path.Base(strings.ReplaceAll(name, "\\", "/"))
	return base == "tokenizer_config.json" || base == "chat_template.json" || strings.HasSuffix(base, ".jinja")
}

// checkTemplateFile judges the chat templates in a text file.
func checkTemplateFile(name string, text []byte) []finding.Finding {
	if strings.HasSuffix(name, ".jinja") {
		return checkChatTemplate(string(text), "template")
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(text, &cfg); err != nil {
		return []finding.Finding{{RuleID: "MS504", Severity: finding.Medium,
			Title:    "tokenizer configuration is not valid JSON, so its chat template was not checked",
			Location: "file", Evidence: err.Error(), References: refsTemplate}}
	}
	if len(cfg.ChatTemplate) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(cfg.ChatTemplate, &one) == nil {
		return checkChatTemplate(one, "chat_template")
	}
	// A list of named templates: [{"name": "tool_use", "template": "..."}].
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(cfg.ChatTemplate, &named); err != nil {
		return []finding.Finding{{RuleID: "MS504", Severity: finding.Medium,
			Title:    "chat_template is neither a string nor a list of named templates, so it was not checked",
			Location: "chat_template", Evidence: err.Error(), References: refsTemplate}}
	}
	var out []finding.Finding
	for _, t := range named {
		out = append(out, checkChatTemplate(t.Template, "chat_template["+t.Name+"]")...)
	}
	return out
}

// maxTemplateFile bounds the text file read to judge its templates.
const maxTemplateFile = 32 << 20

func (s *Scanner) scanTemplateFile(name string, r io.ReaderAt, size int64) []finding.Finding {
	if size > maxTemplateFile {
		return []finding.Finding{{RuleID: "MS504", Severity: finding.Medium,
			Title:    "chat template file is larger than the scanner reads, so it was not checked",
			Location: "file", Evidence: fmt.Sprintf("%d bytes, limit %d", size, maxTemplateFile), References: refsTemplate}}
	}
	text := make([]byte, size)
	if _, err := r.ReadAt(text, 0); err != nil && err != io.EOF {
		return []finding.Finding{{RuleID: "MS504", Severity: finding.Medium, Title: "chat template file could not be read",
			Location: "file", Evidence: err.Error(), References: refsTemplate}}
	}
	return checkTemplateFile(name, text)
}
