package modelscan

import (
	"bytes"
	"fmt"
	"io"

	"github.com/bodgit/sevenzip"
	"github.com/modelgate/modelgate/finding"
)

// scan7z scans the members of a 7-Zip archive, within the size limit.
func (s *Scanner) scan7z(name string, r io.ReaderAt, size int64, depth int, file *finding.File) []finding.File {
	zr, err := sevenzip.NewReader(r, size)
	if err != nil {
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "7-Zip archive cannot be read",
			Location: "archive", Evidence: err.Error(), References: refsTamper})
		return nil
	}
	limit := s.MaxUnpacked
	if limit <= 0 {
		limit = 8 << 30
	}
	var out []finding.File
	var unpacked int64
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		if depth >= s.maxDepth() {
			file.Findings = append(file.Findings, incomplete("archive", fmt.Sprintf("archives nested deeper than %d are not opened", s.maxDepth())))
			return out
		}
		if unpacked += int64(f.UncompressedSize); unpacked > limit {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "archive expands beyond the allowed size",
				Location: f.Name, Evidence: fmt.Sprintf("more than %d bytes", limit), References: refsResource})
			return out
		}
		rc, err := f.Open()
		if err != nil {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "7-Zip member cannot be read",
				Location: f.Name, Evidence: err.Error(), References: refsTamper})
			continue
		}
		b, err := io.ReadAll(io.LimitReader(rc, min(int64(f.UncompressedSize), limit)+1))
		rc.Close()
		if err != nil {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "7-Zip member cannot be read",
				Location: f.Name, Evidence: err.Error(), References: refsTamper})
			continue
		}
		out = append(out, s.scanMember(name+"!"+f.Name, bytes.NewReader(b), int64(len(b)), depth+1)...)
	}
	return out
}
