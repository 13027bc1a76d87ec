package modelscan

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/modelgate/modelgate/finding"
)

// A member of a zip archive as its local header describes it.
type zipMember struct {
	name         string
	method       uint16
	flags        uint16
	offset       int64 // of the data
	csize, usize int64
	headerAt     int64
}

// scanZip reads a zip archive the way PyTorch's reader does: member by
// member from the local headers, ignoring CRCs and flag bits (so the
// tricks that make Python's zipfile give up, while torch.load carries on,
// do not hide a member), and checks the names against the central
// directory. Every member is detected by content and scanned; tensor data
// is only peeked at, never read through.
func (s *Scanner) scanZip(name string, r io.ReaderAt, size int64, depth int, file *finding.File) []finding.File {
	members, central, err := readZip(r, size)
	if err != nil {
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "zip archive is malformed",
			Location: "archive", Evidence: err.Error(), References: refsTamper})
	}
	if central != nil {
		local := map[string]bool{}
		for _, m := range members {
			local[m.name] = true
		}
		for cname := range central {
			if !local[cname] {
				file.Findings = append(file.Findings, finding.Finding{RuleID: "MS202", Severity: finding.High,
					Title: "zip central directory names a member no local header has", Location: "central directory",
					Evidence: cname, References: refsTamper})
			}
		}
		for _, m := range members {
			if !central[m.name] {
				file.Findings = append(file.Findings, finding.Finding{RuleID: "MS202", Severity: finding.High,
					Title: "zip member is missing from the central directory (readers disagree on the contents)", Location: m.name,
					Evidence: m.name, References: refsTamper})
			}
		}
	}
	if depth >= s.maxDepth() {
		file.Findings = append(file.Findings, finding.Finding{RuleID: "MS203", Severity: finding.Medium, Title: "archives nested deeper than the scanner follows",
			Location: "archive", Evidence: fmt.Sprintf("depth %d", depth), References: refsResource})
		return nil
	}
	maxUnpacked, maxRatio := s.MaxUnpacked, s.MaxRatio
	if maxUnpacked <= 0 {
		maxUnpacked = 8 << 30
	}
	if maxRatio <= 0 {
		maxRatio = 200
	}
	var out []finding.File
	var unpacked int64
	for _, m := range members {
		path := name + "!" + m.name
		var data io.ReaderAt
		var msize int64
		switch m.method {
		case 0:
			data, msize = io.NewSectionReader(r, m.offset, m.csize), m.csize
		case 8:
			if m.csize > 0 && m.usize/m.csize > maxRatio && m.usize > 1<<20 {
				file.Findings = append(file.Findings, finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "zip member expands beyond the allowed ratio (a zip bomb)",
					Location: m.name, Evidence: fmt.Sprintf("%d bytes from %d", m.usize, m.csize), References: refsResource})
				continue
			}
			if unpacked += m.usize; unpacked > maxUnpacked {
				file.Findings = append(file.Findings, finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "archive expands beyond the allowed size (a zip bomb)",
					Location: m.name, Evidence: fmt.Sprintf("more than %d bytes", maxUnpacked), References: refsResource})
				return out
			}
			b, err := io.ReadAll(io.LimitReader(flate.NewReader(io.NewSectionReader(r, m.offset, m.csize)), min(m.usize, maxUnpacked)+1))
			if err != nil && len(b) == 0 {
				file.Findings = append(file.Findings, finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "zip member cannot be decompressed",
					Location: m.name, Evidence: err.Error(), References: refsTamper})
				continue
			}
			data, msize = bytes.NewReader(b), int64(len(b))
		default:
			file.Findings = append(file.Findings, finding.Finding{RuleID: "MS205", Severity: finding.Medium, Title: "zip member uses a compression the scanner does not read, so it was not checked",
				Location: m.name, Evidence: fmt.Sprintf("method %d", m.method), References: refsTamper})
			continue
		}
		if isKerasConfig(m.name, members) {
			cfg, err := io.ReadAll(io.NewSectionReader(data, 0, min(msize, 64<<20)))
			if err == nil {
				file.Findings = append(file.Findings, s.checkKerasConfig(cfg, m.name)...)
			}
			continue
		}
		sub := s.scanMember(path, data, msize, depth+1)
		out = append(out, sub...)
	}
	return out
}

// isKerasConfig reports whether a member is the config.json of a .keras
// archive (which also holds metadata.json and model.weights.h5).
func isKerasConfig(name string, members []zipMember) bool {
	if name != "config.json" {
		return false
	}
	for _, m := range members {
		if m.name == "metadata.json" || strings.HasSuffix(m.name, ".weights.h5") {
			return true
		}
	}
	return false
}

// scanMember scans an archive member: like a file, except that a member
// merely starting like a pickle (tensor bytes) is data, and members with
// nothing to report are left out of the report unless they were judged.
func (s *Scanner) scanMember(path string, r io.ReaderAt, size int64, depth int) []finding.File {
	head := make([]byte, 512)
	n, _ := r.ReadAt(head, 0)
	format := detect(path, head[:n], size)
	switch format {
	case FormatPickle:
		f := finding.File{Path: path, Format: format}
		f.Findings = s.scanPickle(io.NewSectionReader(r, 0, size), "", true)
		if f.Findings == nil {
			f.Findings = []finding.Finding{}
		}
		return []finding.File{f}
	case FormatUnknown, FormatONNX, FormatSavedModel:
		return nil // tensor data and other bytes: not read
	}
	return s.scan(path, r, size, depth)
}

// readZip lists the members from their local headers, and the names in
// the central directory (nil if it cannot be found).
func readZip(r io.ReaderAt, size int64) ([]zipMember, map[string]bool, error) {
	central, sizes, cerr := centralDir(r, size)
	var members []zipMember
	var hdr [30]byte
	at := int64(0)
	var err error
	for at+30 <= size {
		if _, e := r.ReadAt(hdr[:], at); e != nil {
			err = e
			break
		}
		if string(hdr[:4]) != "PK\x03\x04" {
			break // central directory or end
		}
		flags := binary.LittleEndian.Uint16(hdr[6:])
		method := binary.LittleEndian.Uint16(hdr[8:])
		csize := int64(binary.LittleEndian.Uint32(hdr[18:]))
		usize := int64(binary.LittleEndian.Uint32(hdr[22:]))
		nlen := int64(binary.LittleEndian.Uint16(hdr[26:]))
		elen := int64(binary.LittleEndian.Uint16(hdr[28:]))
		nameb := make([]byte, nlen)
		if _, e := r.ReadAt(nameb, at+30); e != nil {
			err = fmt.Errorf("member name at %d: %w", at, e)
			break
		}
		extra := make([]byte, elen)
		if elen > 0 {
			if _, e := r.ReadAt(extra, at+30+nlen); e != nil {
				err = fmt.Errorf("extra field at %d: %w", at, e)
				break
			}
		}
		if csize == 0xffffffff || usize == 0xffffffff {
			csize, usize = zip64Sizes(extra, csize, usize)
		}
		data := at + 30 + nlen + elen
		if flags&0x8 != 0 && csize == 0 {
			// Sizes follow the data; take them from the central directory.
			sz, ok := sizes[string(nameb)]
			if !ok && method == 0 {
				// Not in the central directory either: find the data
				// descriptor that ends a stored member.
				sz[0], ok = findDescriptor(r, data, size)
				sz[1] = sz[0]
			}
			if !ok {
				err = fmt.Errorf("member %q defers its size and neither the central directory nor a data descriptor gives it", nameb)
				break
			}
			csize, usize = sz[0], sz[1]
		}
		m := zipMember{name: string(nameb), method: method, flags: flags, offset: data, csize: csize, usize: usize, headerAt: at}
		members = append(members, m)
		if data+csize > size {
			err = fmt.Errorf("member %q runs past the end of the file", m.name)
			members[len(members)-1].csize = size - data
			break
		}
		at = data + csize
		if flags&0x8 != 0 {
			at = skipDescriptor(r, at, size)
		}
	}
	if err == nil && cerr != nil && len(members) > 0 {
		err = cerr
	}
	return members, central, err
}

// findDescriptor looks for the data descriptor after a stored member's
// data: its signature, then a CRC, then a compressed size equal to the
// distance from the data's start.
func findDescriptor(r io.ReaderAt, data, size int64) (int64, bool) {
	buf := make([]byte, 1<<20)
	for at := data; at < size; at += int64(len(buf)) - 16 {
		n, _ := r.ReadAt(buf, at)
		chunk := buf[:n]
		for i := 0; ; {
			j := bytes.Index(chunk[i:], []byte("PK\x07\x08"))
			if j < 0 || i+j+12 > len(chunk) {
				break
			}
			k := i + j
			if cs := int64(binary.LittleEndian.Uint32(chunk[k+8:])); cs == at+int64(k)-data {
				return cs, true
			}
			i = k + 1
		}
		if n < len(buf) {
			break
		}
	}
	return 0, false
}

func skipDescriptor(r io.ReaderAt, at, size int64) int64 {
	var sig [4]byte
	if _, err := r.ReadAt(sig[:], at); err == nil && string(sig[:]) == "PK\x07\x08" {
		at += 4
	}
	// crc, csize, usize (32-bit); zip64 descriptors are longer, and the
	// next local header will be found either way by the caller's check.
	at += 12
	var next [4]byte
	if _, err := r.ReadAt(next[:], at); err == nil && string(next[:]) != "PK\x03\x04" && string(next[:]) != "PK\x01\x02" {
		at += 8 // zip64 descriptor
	}
	return min(at, size)
}

func zip64Sizes(extra []byte, csize, usize int64) (int64, int64) {
	for len(extra) >= 4 {
		id, n := binary.LittleEndian.Uint16(extra), int(binary.LittleEndian.Uint16(extra[2:]))
		if len(extra) < 4+n {
			break
		}
		if id == 1 {
			body := extra[4 : 4+n]
			if usize == 0xffffffff && len(body) >= 8 {
				usize, body = int64(binary.LittleEndian.Uint64(body)), body[8:]
			}
			if csize == 0xffffffff && len(body) >= 8 {
				csize = int64(binary.LittleEndian.Uint64(body))
			}
		}
		extra = extra[4+n:]
	}
	return csize, usize
}

// centralDir reads the central directory: its member names, and their
// compressed and uncompressed sizes.
func centralDir(r io.ReaderAt, size int64) (map[string]bool, map[string][2]int64, error) {
	tail := min(size, 65536+22)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return nil, nil, err
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < 22 {
		return nil, nil, fmt.Errorf("no end of central directory record")
	}
	eocd := buf[i:]
	count := int(binary.LittleEndian.Uint16(eocd[10:]))
	cdSize := int64(binary.LittleEndian.Uint32(eocd[12:]))
	cdOff := int64(binary.LittleEndian.Uint32(eocd[16:]))
	if cdOff == 0xffffffff || count == 0xffff {
		// zip64: find the zip64 end record through its locator.
		if j := bytes.LastIndex(buf[:i], []byte("PK\x06\x07")); j >= 0 && len(buf)-j >= 20 {
			recAt := int64(binary.LittleEndian.Uint64(buf[j+8:]))
			var rec [56]byte
			if _, err := r.ReadAt(rec[:], recAt); err == nil && string(rec[:4]) == "PK\x06\x06" {
				count = int(binary.LittleEndian.Uint64(rec[32:]))
				cdSize = int64(binary.LittleEndian.Uint64(rec[40:]))
				cdOff = int64(binary.LittleEndian.Uint64(rec[48:]))
			}
		}
	}
	if cdOff < 0 || cdSize < 0 || cdOff+cdSize > size || cdSize > 1<<30 {
		return nil, nil, fmt.Errorf("central directory out of bounds")
	}
	cd := make([]byte, cdSize)
	if _, err := r.ReadAt(cd, cdOff); err != nil {
		return nil, nil, err
	}
	names := map[string]bool{}
	sizes := map[string][2]int64{}
	for p := 0; p+46 <= len(cd) && len(names) < count+1; {
		if string(cd[p:p+4]) != "PK\x01\x02" {
			return names, sizes, fmt.Errorf("central directory entry %d is malformed", len(names))
		}
		csize := int64(binary.LittleEndian.Uint32(cd[p+20:]))
		usize := int64(binary.LittleEndian.Uint32(cd[p+24:]))
		nlen := int(binary.LittleEndian.Uint16(cd[p+28:]))
		elen := int(binary.LittleEndian.Uint16(cd[p+30:]))
		clen := int(binary.LittleEndian.Uint16(cd[p+32:]))
		if p+46+nlen+elen+clen > len(cd) {
			return names, sizes, fmt.Errorf("central directory entry runs past its end")
		}
		name := string(cd[p+46 : p+46+nlen])
		names[name] = true
		cs, us := zip64Sizes(cd[p+46+nlen:p+46+nlen+elen], csize, usize)
		sizes[name] = [2]int64{cs, us}
		p += 46 + nlen + elen + clen
	}
	return names, sizes, nil
}
