package modelscan

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"

	"github.com/modelgate/modelgate/finding"
)

// scanCompressed unpacks a gzip or zlib stream (joblib compresses its
// pickles this way) within the size limit and scans what it holds.
func (s *Scanner) scanCompressed(name, format string, r io.ReaderAt, size int64, depth int, file *finding.File) []finding.File {
	var zr io.Reader
	var err error
	src := io.NewSectionReader(r, 0, size)
	if format == FormatGzip {
		zr, err = gzip.NewReader(src)
	} else {
		zr, err = zlib.NewReader(src)
	}
	if err != nil {
		file.Error = fmt.Sprintf("%s stream cannot be read: %v", format, err)
		return nil
	}
	limit := s.MaxUnpacked
	if limit <= 0 {
		limit = 8 << 30
	}
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if int64(len(b)) > limit {
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "compressed stream expands beyond the allowed size",
			Location: "stream", Evidence: fmt.Sprintf("more than %d bytes", limit), References: refsResource})
		return nil
	}
	if err != nil && len(b) == 0 {
		file.Error = fmt.Sprintf("%s stream cannot be read: %v", format, err)
		return nil
	}
	if depth >= s.maxDepth() {
		return nil
	}
	return s.scan(name+"!"+format, bytes.NewReader(b), int64(len(b)), depth+1)
}

// scanTar scans the members of a tar archive (PyTorch's legacy format:
// sys_info, pickle, storages, tensors).
func (s *Scanner) scanTar(name string, r io.ReaderAt, size int64, depth int, file *finding.File) []finding.File {
	tr := tar.NewReader(io.NewSectionReader(r, 0, size))
	var out []finding.File
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "tar archive is malformed",
				Location: "archive", Evidence: err.Error(), References: refsTamper})
			return out
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeRegA {
			continue
		}
		if depth >= s.maxDepth() {
			return out
		}
		b, err := io.ReadAll(io.LimitReader(tr, min(h.Size, 4<<30)))
		if err != nil {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "tar member cannot be read",
				Location: h.Name, Evidence: err.Error(), References: refsTamper})
			return out
		}
		out = append(out, s.scanMember(name+"!"+h.Name, bytes.NewReader(b), int64(len(b)), depth+1)...)
	}
}
