package modelscan

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// scanCompressed unpacks a compressed stream within the size limit and
// scans what it holds: every compressor joblib.load accepts (zlib, gzip,
// bz2, lzma "alone", xz, and its old "ZF" zlib files).
func (s *Scanner) scanCompressed(name, format string, r io.ReaderAt, size int64, depth int, file *finding.File) []finding.File {
	src := io.NewSectionReader(r, 0, size)
	var zr io.Reader
	var err error
	switch format {
	case FormatGzip:
		zr, err = gzip.NewReader(src)
	case FormatZlib:
		zr, err = zlib.NewReader(src)
	case FormatBzip2:
		zr = bzip2.NewReader(src)
	case FormatXZ:
		zr, err = xz.NewReader(src)
	case FormatLZMA:
		zr, err = lzma.NewReader(src)
	case FormatJoblibZ:
		zr, err = joblibZFile(src, size)
	}
	if err != nil {
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS205", Severity: finding.High, Title: "compressed stream cannot be unpacked, so it was not checked",
			Location: "stream", Evidence: fmt.Sprintf("%s: %v", format, err), References: refsTamper})
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
	if err != nil {
		if len(b) == 0 {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS205", Severity: finding.High, Title: "compressed stream cannot be unpacked, so it was not checked",
				Location: "stream", Evidence: fmt.Sprintf("%s: %v", format, err), References: refsTamper})
			return nil
		}
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "compressed stream is damaged; what could be unpacked was scanned",
			Location: "stream", Evidence: err.Error(), References: refsTamper})
	}
	if depth >= s.maxDepth() {
		file.Findings = append(file.Findings, incomplete("stream", fmt.Sprintf("archives nested deeper than %d are not opened", s.maxDepth())))
		return nil
	}
	return s.scan(name+"!"+format, bytes.NewReader(b), int64(len(b)), depth+1)
}

// joblibZFile opens joblib's old compressed format: "ZF", the length in
// hex padded to 19 characters (and, from old Python 2 joblib, a space),
// then a zlib stream.
func joblibZFile(r io.ReaderAt, size int64) (io.Reader, error) {
	const header = 2 + 19
	var hdr [header + 1]byte
	n, _ := r.ReadAt(hdr[:], 0)
	if n < header {
		return nil, fmt.Errorf("truncated header")
	}
	if _, err := strconv.ParseUint(strings.TrimSpace(string(hdr[4:header])), 16, 64); err != nil {
		return nil, fmt.Errorf("bad length %q", hdr[2:header])
	}
	at := int64(header)
	if n > header && hdr[header] == ' ' {
		at++
	}
	return zlib.NewReader(io.NewSectionReader(r, at, size-at))
}

// scanTar scans the members of a tar archive (PyTorch's legacy format:
// sys_info, pickle, storages, tensors) in every format Python's tarfile
// reads (V7, GNU, ustar, pax), and every type it extracts as a regular
// file, contiguous files included.
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
		if !regularTarMember(h.Typeflag) {
			continue
		}
		if depth >= s.maxDepth() {
			file.Findings = append(file.Findings, incomplete("archive", fmt.Sprintf("archives nested deeper than %d are not opened", s.maxDepth())))
			return out
		}
		const maxMember = 4 << 30
		b, err := io.ReadAll(io.LimitReader(tr, maxMember))
		if err != nil {
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "tar member cannot be read",
				Location: h.Name, Evidence: err.Error(), References: refsTamper})
			return out
		}
		if h.Size > maxMember {
			file.Findings = append(file.Findings, incomplete(h.Name, fmt.Sprintf("member of %d bytes: only the first %d were scanned", h.Size, maxMember)))
		}
		out = append(out, s.scanMember(name+"!"+h.Name, bytes.NewReader(b), int64(len(b)), depth+1)...)
	}
}

// regularTarMember reports whether a tar member holds a file's bytes as
// Python's tarfile reads them: regular files in every spelling, including
// contiguous (7) and GNU sparse members.
func regularTarMember(typeflag byte) bool {
	switch typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont, tar.TypeGNUSparse:
		return true
	}
	return false
}
