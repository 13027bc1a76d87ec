package modelscan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"

	"github.com/modelgate/modelgate/finding"
)

// objectDescr finds an object dtype in a .npy header's descr, alone or
// inside a structured dtype: '|O', 'O', '<O8'.
var objectDescr = regexp.MustCompile(`'[|<>=]?O\d*'`)

// scanNumPy reads a .npy header. An array of Python objects is stored as
// a pickle, which np.load(allow_pickle=True) runs: that is a finding, and
// the pickle is scanned like any other.
func (s *Scanner) scanNumPy(r io.ReadSeeker, member string) []finding.Finding {
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return []finding.Finding{npyBroken(member, "truncated header")}
	}
	major := pre[6]
	var hlen int64
	off := int64(10)
	switch major {
	case 1:
		hlen = int64(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return []finding.Finding{npyBroken(member, "truncated header")}
		}
		hlen = int64(binary.LittleEndian.Uint32(append(append([]byte{}, pre[8:]...), ext[:]...)))
		off = 12
	default:
		return []finding.Finding{npyBroken(member, fmt.Sprintf("unknown format version %d", major))}
	}
	if hlen > 1<<20 {
		return []finding.Finding{npyBroken(member, fmt.Sprintf("header of %d bytes", hlen))}
	}
	header := make([]byte, hlen)
	if _, err := io.ReadFull(r, header); err != nil {
		return []finding.Finding{npyBroken(member, "truncated header")}
	}
	if !bytes.Contains(header, []byte("'descr'")) {
		return []finding.Finding{npyBroken(member, "header has no descr")}
	}
	d := bytes.Index(header, []byte("'descr'"))
	descr := header[d:]
	if e := bytes.Index(descr, []byte("'fortran_order'")); e > 0 {
		descr = descr[:e]
	}
	if !objectDescr.Match(descr) {
		return []finding.Finding{}
	}
	loc := "object array"
	if member != "" {
		loc = member
	}
	out := []finding.Finding{{RuleID: "MS301", Severity: finding.High, Title: "NumPy array of Python objects: loading it unpickles its data",
		Location: loc, Evidence: string(bytes.TrimSpace(header)), References: refsCode,
		Remediation: "store numeric arrays; never np.load(allow_pickle=True) an untrusted file"}}
	if _, err := r.Seek(off+hlen, io.SeekStart); err != nil {
		return out
	}
	return append(out, s.scanPickle(r, member, false)...)
}

func npyBroken(member, why string) finding.Finding {
	loc := "header"
	if member != "" {
		loc = member
	}
	return finding.Finding{RuleID: "MS302", Severity: finding.High, Title: "NumPy file is malformed", Location: loc, Evidence: why, References: refsTamper}
}
