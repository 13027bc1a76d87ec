package inventory

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/modelgate/modelgate/datacheck/classify"
	"github.com/modelgate/modelgate/datacheck/table"
	"github.com/modelgate/modelgate/finding"
)

// defaultSampleRows is how many rows of a dataset are classified unless
// Scanner.SampleRows says otherwise.
const defaultSampleRows = 500

var refsDataLeak = []string{"LLM02", "AML.T0057", "CWE-359"}

// dataset records a dataset file, classifying the columns of the
// formats the data checks read.
func (sn *sniffer) dataset(f *file, format string) error {
	a := sn.fileAsset(f, KindDataset, format)
	var r table.Reader
	var err error
	switch format {
	case "parquet":
		r, err = table.OpenParquet(f.path)
	case "csv", "tsv":
		comma := ','
		if format == "tsv" {
			comma = '\t'
		}
		r, err = table.NewCSV(io.NewSectionReader(f, 0, f.size), comma)
	case "jsonl":
		r, err = table.NewJSONL(io.NewSectionReader(f, 0, f.size))
	default:
		a.attr("classified", "no: the data checks do not read "+format)
		sn.add(a)
		return nil
	}
	if err == nil {
		err = sn.classifyInto(&a, r)
		r.Close()
	}
	if err != nil {
		a.attr("classified", "no: "+err.Error())
	}
	sn.add(a)
	return nil
}

// datasetSample records a dataset whose classification reads a sample
// already in memory (the unpacked head of a compressed file).
func (sn *sniffer) datasetSample(f *file, format string, sample []byte, comma rune) error {
	a := sn.fileAsset(f, KindDataset, format)
	// The sample's last line is cut where the sample ends.
	if i := bytes.LastIndexByte(sample, '\n'); i > 0 {
		sample = sample[:i+1]
	}
	var r table.Reader
	var err error
	if comma == 0 {
		r, err = table.NewJSONL(bytes.NewReader(sample))
	} else {
		r, err = table.NewCSV(bytes.NewReader(sample), comma)
	}
	if err == nil {
		err = sn.classifyInto(&a, r)
	}
	if err != nil {
		a.attr("classified", "no: "+err.Error())
	} else {
		a.attr("classified", "on the first rows only (compressed)")
	}
	sn.add(a)
	return nil
}

func (sn *sniffer) classifyInto(a *Asset, r table.Reader) error {
	rows := sn.w.s.SampleRows
	if rows <= 0 {
		rows = defaultSampleRows
	}
	rep, err := classify.Scan(r, rows)
	if err != nil {
		return err
	}
	a.attr("columns", fmt.Sprint(len(rep.Columns)))
	a.attr("rows_sampled", fmt.Sprint(rep.Rows))
	a.attr("classification", rep.Verdict)
	var pii, cred []string
	for _, c := range rep.Columns {
		switch c.Verdict {
		case classify.VerdictPII:
			pii = append(pii, c.Name)
		case classify.VerdictCredential:
			cred = append(cred, c.Name)
		}
		if c.Verdict != classify.VerdictNone {
			a.Columns = append(a.Columns, c)
		}
	}
	if len(cred) > 0 {
		a.Findings = append(a.Findings, finding.Finding{RuleID: "INV-DATA-CREDENTIALS", Severity: finding.High,
			Title: "dataset holds credentials", Location: "columns " + strings.Join(cred, ", "),
			Remediation: "remove and rotate the credentials; keep secrets out of training and evaluation data",
			References:  refsDataLeak})
	}
	if len(pii) > 0 {
		a.Findings = append(a.Findings, finding.Finding{RuleID: "INV-DATA-PII", Severity: finding.Medium,
			Title: "dataset holds personal data", Location: "columns " + strings.Join(pii, ", "),
			Remediation: "check the lawful basis and minimise: mask or drop these columns (modelgate data mask)",
			References:  refsDataLeak})
	}
	return nil
}

// tableExts are the names under which one row of data is enough to call
// a file a dataset; any other text needs several consistent rows.
var tableExts = map[string]string{".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

// textTable reports whether text is a table of data: JSON lines (one
// object per line), or delimited rows whose field counts agree, with a
// header and at least one row of data under it.
func textTable(name string, head []byte) (kind string, comma rune) {
	ext := strings.ToLower(filepath.Ext(name))
	named := tableExts[ext]
	if proseExts[ext] || codeLanguage(name, head) != "" {
		return "", 0
	}
	minRows := 4
	if named != "" {
		minRows = 1
	}
	lines := headLines(head, 64)
	if len(lines) == 0 {
		return "", 0
	}
	// JSON lines: every line one object. Two are enough to tell them
	// from a JSON document (whose first line is rarely a whole object).
	if lines[0][0] == '{' {
		for _, l := range lines {
			if len(l) == 0 || l[0] != '{' || !json.Valid(l) {
				return "", 0
			}
		}
		if len(lines) >= 2 || named == "jsonl" {
			return "jsonl", 0
		}
		return "", 0
	}
	if len(lines) < 1+minRows {
		return "", 0
	}
	for _, c := range []byte{',', '\t', ';'} {
		cols := fieldCount(lines[0], c)
		if cols < 2 || !headerLike(lines[0], c) {
			continue
		}
		ok := true
		for _, l := range lines[1:] {
			if fieldCount(l, c) != cols {
				ok = false
				break
			}
		}
		if ok {
			if c == '\t' {
				return "tsv", '\t'
			}
			return "csv", rune(c)
		}
	}
	return "", 0
}

// proseExts are text that is never a table even when its lines agree.
var proseExts = map[string]bool{
	".md": true, ".rst": true, ".txt": true, ".html": true, ".htm": true, ".xml": true, ".yaml": true, ".yml": true,
	".toml": true, ".ini": true, ".cfg": true, ".conf": true, ".json": true, ".sql": true, ".sh": true, ".tex": true,
	".log": true, ".properties": true, ".pbtxt": true, ".ipynb": true, ".css": true, ".svg": true,
}

// headLines splits the start of a text into up to n non-empty lines,
// dropping a last line the head cut.
func headLines(head []byte, n int) [][]byte {
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(nil, len(head)+1)
	for sc.Scan() && len(out) < n {
		if l := bytes.TrimRight(sc.Bytes(), "\r"); len(bytes.TrimSpace(l)) > 0 {
			out = append(out, l)
		}
	}
	if len(head) == headSize && len(out) > 1 && head[len(head)-1] != '\n' {
		out = out[:len(out)-1]
	}
	return out
}

// fieldCount counts a line's fields, honouring double quotes.
func fieldCount(line []byte, comma byte) int {
	n, quoted := 1, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case c == comma && !quoted:
			n++
		}
	}
	if quoted {
		return -1 // a field that spans lines: not judged from one line
	}
	return n
}

// headerLike reports whether a first line names columns: short, distinct,
// non-empty names.
func headerLike(line []byte, comma byte) bool {
	seen := map[string]bool{}
	for f := range bytes.SplitSeq(line, []byte{comma}) {
		name := string(bytes.Trim(bytes.TrimSpace(f), `"`))
		if name == "" || len(name) > 128 || seen[name] {
			return false
		}
		seen[name] = true
	}
	return true
}
