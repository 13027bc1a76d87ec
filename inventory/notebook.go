package inventory

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/guard"
	"github.com/modelgate/modelgate/guard/pii"
	"github.com/modelgate/modelgate/guard/secrets"
)

// maxNotebook bounds what is read of a notebook.
const maxNotebook = 256 << 20

// notebookJSON is the part of a Jupyter notebook (nbformat 4) read here.
type notebookJSON struct {
	NBFormat int `json:"nbformat"`
	Cells    []struct {
		Type    string          `json:"cell_type"`
		Source  json.RawMessage `json:"source"`
		Outputs []struct {
			Type string                     `json:"output_type"`
			Text json.RawMessage            `json:"text"`
			Data map[string]json.RawMessage `json:"data"`
		} `json:"outputs"`
	} `json:"cells"`
	Metadata struct {
		Kernel struct {
			Language string `json:"language"`
		} `json:"kernelspec"`
		Language struct {
			Name string `json:"name"`
		} `json:"language_info"`
	} `json:"metadata"`
}

// multiline reads nbformat's text, a string or a list of lines.
func multiline(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var lines []string
	if json.Unmarshal(raw, &lines) == nil {
		return strings.Join(lines, "")
	}
	return ""
}

// notebook records a notebook that calls AI or whose saved outputs hold
// credentials or personal data: outputs are kept in the file, shared with
// it, and rarely looked at.
func (sn *sniffer) notebook(f *file, b []byte) (bool, error) {
	var nb notebookJSON
	// Notebooks keep their images in their outputs and outgrow the text
	// buffer: a larger one is decoded from the file, up to maxNotebook.
	var err error
	if int64(len(b)) < f.size {
		err = json.NewDecoder(io.NewSectionReader(f, 0, min(f.size, maxNotebook))).Decode(&nb)
	} else {
		err = json.Unmarshal(b, &nb)
	}
	if err != nil || nb.NBFormat == 0 {
		return false, nil
	}
	lang := strings.ToLower(nb.Metadata.Kernel.Language)
	if lang == "" {
		lang = strings.ToLower(nb.Metadata.Language.Name)
	}
	if lang == "" {
		lang = "python"
	}
	var code strings.Builder
	var outputs []string
	for _, c := range nb.Cells {
		if c.Type == "code" {
			// Magics and shell escapes are not the language's imports.
			for line := range strings.SplitSeq(multiline(c.Source), "\n") {
				if t := strings.TrimSpace(line); !strings.HasPrefix(t, "%") && !strings.HasPrefix(t, "!") {
					code.WriteString(line)
				}
				code.WriteByte('\n')
			}
		}
		for _, o := range c.Outputs {
			if t := multiline(o.Text); t != "" {
				outputs = append(outputs, t)
			}
			for mime, raw := range o.Data {
				if strings.HasPrefix(mime, "text/") || mime == "application/json" {
					if t := multiline(raw); t != "" {
						outputs = append(outputs, t)
					} else if len(raw) > 0 && raw[0] == '{' {
						outputs = append(outputs, string(raw))
					}
				}
			}
		}
	}
	a := Asset{Kind: KindNotebook, Path: f.path, Name: f.name, Format: "ipynb", Size: f.size}
	a.attr("cells", fmt.Sprint(len(nb.Cells)))
	a.attr("language", lang)
	used := false
	if u := scanCode(lang, []byte(code.String())); u != nil {
		u.attrs(&a)
		delete(a.Attrs, "lines") // lines of the joined cells mean nothing in the file
		used = true
	}
	held := outputFindings(outputs)
	a.Findings = append(a.Findings, held...)
	sn.keys(f, b, "")
	if !used && len(held) == 0 {
		return true, nil
	}
	sn.fingerprint(f, &a)
	sn.add(a)
	return true, nil
}

// outputFindings checks a notebook's saved outputs for credentials (every
// gitleaks rule) and personal data, counting entity types, never keeping
// a value.
func outputFindings(outputs []string) []finding.Finding {
	if len(outputs) == 0 {
		return nil
	}
	sec, err := secrets.New()
	if err != nil {
		return nil
	}
	sec.MinEntropy = 0 // hashes and ids in outputs are not secrets
	var det pii.Detector
	secretTypes, piiTypes := map[string]int{}, map[string]int{}
	for _, o := range outputs {
		t := &guard.Text{Segment: guard.Segment{Text: o}}
		sec.Detect(t, func(f guard.Finding) { secretTypes[f.Entity]++ })
		t = &guard.Text{Segment: guard.Segment{Text: o}}
		det.Detect(t, func(f guard.Finding) {
			if f.Score >= 0.5 {
				piiTypes[f.Entity]++
			}
		})
	}
	var out []finding.Finding
	if len(secretTypes) > 0 {
		out = append(out, finding.Finding{RuleID: "INV-NB-SECRET", Severity: finding.High,
			Title: "notebook output holds credentials", Location: "outputs", Evidence: countList(secretTypes),
			Remediation: "clear the outputs (jupyter nbconvert --clear-output), rotate the credentials, and keep them out of printed values",
			References:  refsKey})
	}
	if len(piiTypes) > 0 {
		out = append(out, finding.Finding{RuleID: "INV-NB-PII", Severity: finding.Medium,
			Title: "notebook output holds personal data", Location: "outputs", Evidence: countList(piiTypes),
			Remediation: "clear the outputs before sharing or committing the notebook",
			References:  refsDataLeak})
	}
	return out
}

func countList(m map[string]int) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for i, k := range ks {
		ks[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(ks, ", ")
}
