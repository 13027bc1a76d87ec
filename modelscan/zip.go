package modelscan

import (
	"bytes"
	"compress/bzip2"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/modelgate/modelgate/finding"
	"github.com/ulikunitz/xz/lzma"
)

// A zip archive has two tables of contents: the central directory at its
// end, which Python's zipfile, torch.load (miniz) and numpy read, and the
// local header before each member's data, which a reader walking from the
// start sees. An archive can make them disagree: a local header saying
// size 0 where the central directory has the real size, a benign member
// first and the central directory pointing past junk to another. The
// scanner reads both, scans every member either reaches, and reports
// every disagreement.

// zipEntry is a member as one of the two views describes it.
type zipEntry struct {
	name         string
	method       uint16
	flags        uint16
	headerAt     int64 // of the local header
	offset       int64 // of the data
	csize, usize int64
}

// centralEntry is a central directory record.
type centralEntry struct {
	name         string
	method       uint16
	flags        uint16
	headerAt     int64 // as zipfile computes it: recorded offset plus the bytes before the archive
	csize, usize int64
}

// scanZip scans the members of a zip archive.
func (s *Scanner) scanZip(name string, r io.ReaderAt, size int64, depth int, file *finding.File) []finding.File {
	add := func(f finding.Finding) { file.Findings = append(file.Findings, f) }
	central, concat, cerr := readCentral(r, size)
	if cerr != nil {
		add(finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "zip archive is malformed: its central directory cannot be read",
			Location: "central directory", Evidence: cerr.Error(), References: refsTamper})
	}
	local, lerr := walkLocal(r, size, max(concat, 0), centralSizes(central))
	if lerr != nil {
		add(finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "zip archive is malformed: its local headers cannot all be read",
			Location: "local headers", Evidence: lerr.Error(), References: refsTamper})
	}
	members := s.reconcile(r, size, central, local, add)
	if depth >= s.maxDepth() {
		add(incomplete("archive", fmt.Sprintf("archives nested deeper than %d are not opened", s.maxDepth())))
		return nil
	}
	maxUnpacked, maxRatio := s.MaxUnpacked, s.MaxRatio
	if maxUnpacked <= 0 {
		maxUnpacked = 8 << 30
	}
	if maxRatio <= 0 {
		maxRatio = 200
	}
	storages := torchStorages(members)
	var out []finding.File
	var unpacked int64
	for _, m := range members {
		p := name + "!" + m.name
		if storages[m.name] && m.method == 0 {
			// Raw tensor numbers, which torch never unpickles: only one
			// that starts like a pickle is walked, and reported if it is.
			if f := s.storagePickle(p, io.NewSectionReader(r, m.offset, m.csize), m.csize, depth); f != nil {
				out = append(out, *f)
			}
			continue
		}
		if m.flags&1 != 0 {
			add(finding.Finding{RuleID: "MS205", Severity: finding.High, Title: "zip member is encrypted, so it was not checked",
				Location: m.name, Evidence: "encryption flag set", References: refsTamper})
			continue
		}
		var data io.ReaderAt
		var msize int64
		if m.method == 0 {
			data, msize = io.NewSectionReader(r, m.offset, m.csize), m.csize
		} else {
			if m.csize > 0 && m.usize/m.csize > maxRatio && m.usize > 1<<20 {
				add(finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "zip member expands beyond the allowed ratio (a zip bomb)",
					Location: m.name, Evidence: fmt.Sprintf("%d bytes from %d", m.usize, m.csize), References: refsResource})
				continue
			}
			budget := maxUnpacked - unpacked
			if budget <= 0 {
				add(finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "archive expands beyond the allowed size (a zip bomb)",
					Location: m.name, Evidence: fmt.Sprintf("more than %d bytes", maxUnpacked), References: refsResource})
				return out
			}
			b, err := unzipMember(r, m, budget)
			unpacked += int64(len(b))
			switch {
			case err == errNotUnpacked:
				add(finding.Finding{RuleID: "MS205", Severity: finding.High, Title: "zip member uses a compression the scanner does not read, so it was not checked",
					Location: m.name, Evidence: fmt.Sprintf("method %d", m.method), References: refsTamper})
				continue
			case err == errTooLarge:
				add(finding.Finding{RuleID: "MS204", Severity: finding.High, Title: "archive expands beyond the allowed size (a zip bomb)",
					Location: m.name, Evidence: fmt.Sprintf("more than %d bytes", maxUnpacked), References: refsResource})
				return out
			case err != nil && len(b) == 0:
				add(finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "zip member cannot be decompressed",
					Location: m.name, Evidence: err.Error(), References: refsTamper})
				continue
			}
			data, msize = bytes.NewReader(b), int64(len(b))
		}
		if m.name == "config.json" {
			// Keras (and anything else that opens the archive with
			// zipfile) reads the configuration whatever else is there.
			cfg, err := io.ReadAll(io.NewSectionReader(data, 0, min(msize, 64<<20)))
			if err == nil && msize > 64<<20 {
				add(incomplete(m.name, "configuration larger than 64 MiB; the rest was not read"))
			}
			if err == nil && json1(cfg) {
				file.Findings = append(file.Findings, s.checkKerasConfig(cfg, m.name)...)
				continue
			}
		}
		out = append(out, s.scanMember(p, data, msize, depth+1)...)
	}
	return out
}

// json1 reports whether bytes start like a JSON object.
func json1(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '{'
}

// reconcile merges the two views into the members to scan (one per place
// in the file, in file order) and reports where they disagree.
func (s *Scanner) reconcile(r io.ReaderAt, size int64, central []centralEntry, local []zipEntry, add func(finding.Finding)) []zipEntry {
	byHeader := map[int64]zipEntry{}
	for _, l := range local {
		byHeader[l.headerAt] = l
	}
	seen := map[int64]bool{}
	var out []zipEntry
	for _, c := range central {
		l, ok := byHeader[c.headerAt]
		if !ok {
			// Read the local header the central directory points to.
			var err error
			l, err = readLocalHeader(r, size, c.headerAt)
			if err != nil {
				add(finding.Finding{RuleID: "MS202", Severity: finding.High, Title: "zip central directory points to no local header",
					Location: c.name, Evidence: err.Error(), References: refsTamper})
				continue
			}
			add(finding.Finding{RuleID: "MS202", Severity: finding.High,
				Title:    "zip member reachable only through the central directory (a reader walking the local headers misses it)",
				Location: c.name, Evidence: fmt.Sprintf("local header at offset %d", c.headerAt), References: refsTamper})
		}
		if l.name != c.name {
			add(finding.Finding{RuleID: "MS202", Severity: finding.High, Title: "zip member's local header and central directory name it differently",
				Location: c.name, Evidence: fmt.Sprintf("local %q, central %q", l.name, c.name), References: refsTamper})
		}
		m := zipEntry{name: c.name, method: c.method, flags: c.flags, headerAt: c.headerAt, offset: l.offset, csize: c.csize, usize: c.usize}
		if m.offset+m.csize > size {
			add(finding.Finding{RuleID: "MS201", Severity: finding.High, Title: "zip member runs past the end of the file",
				Location: c.name, Evidence: fmt.Sprintf("%d bytes at offset %d", c.csize, m.offset), References: refsTamper})
			m.csize = max(size-m.offset, 0)
		}
		out = append(out, m)
		if m.method == 0 && m.usize < m.csize && m.usize >= 0 {
			// zipfile reads a stored member's uncompressed size; others
			// its compressed size: scan both.
			short := m
			short.csize, short.name = m.usize, m.name+" (its uncompressed size)"
			out = append(out, short)
		}
		seen[c.headerAt] = true
		if ok && (l.csize != c.csize || l.method != c.method) && l.flags&8 == 0 {
			add(finding.Finding{RuleID: "MS202", Severity: finding.High, Title: "zip member's local header and central directory disagree on its size or compression",
				Location: c.name, Evidence: fmt.Sprintf("local %d bytes (method %d), central %d bytes (method %d)", l.csize, l.method, c.csize, c.method), References: refsTamper})
			if l.csize > 0 && l.offset+l.csize <= size {
				l.name += " (as its local header describes it)"
				out = append(out, l)
			}
		}
	}
	for _, l := range local {
		if seen[l.headerAt] {
			continue
		}
		if central != nil {
			add(finding.Finding{RuleID: "MS202", Severity: finding.High,
				Title:    "zip member missing from the central directory (readers disagree on the contents)",
				Location: l.name, Evidence: fmt.Sprintf("local header at offset %d", l.headerAt), References: refsTamper})
		}
		out = append(out, l)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].headerAt < out[j].headerAt })
	return out
}

// torchStorages names the members of a PyTorch archive that hold tensor
// data: <root>/data/<key> beside <root>/data.pkl.
func torchStorages(members []zipEntry) map[string]bool {
	roots := map[string]bool{}
	for _, m := range members {
		if dir, file := path.Split(m.name); file == "data.pkl" {
			roots[dir] = true
		}
	}
	out := map[string]bool{}
	for _, m := range members {
		dir, file := path.Split(m.name)
		if file != "" && strings.HasSuffix(dir, "data/") && roots[strings.TrimSuffix(dir, "data/")] {
			out[m.name] = true
		}
	}
	return out
}

var (
	errNotUnpacked = fmt.Errorf("compression not supported")
	errTooLarge    = fmt.Errorf("expands beyond the limit")
)

// unzipMember decompresses a member, up to budget bytes: stored,
// deflate, bzip2 and LZMA, the methods zipfile reads.
func unzipMember(r io.ReaderAt, m zipEntry, budget int64) ([]byte, error) {
	src := io.NewSectionReader(r, m.offset, m.csize)
	var zr io.Reader
	switch m.method {
	case 8:
		zr = flate.NewReader(src)
	case 12:
		zr = bzip2.NewReader(src)
	case 14:
		// A zip LZMA member: version, properties size, the 5 property
		// bytes, then the raw stream. The "alone" reader wants the
		// properties followed by the uncompressed size.
		var hdr [9]byte
		if _, err := io.ReadFull(src, hdr[:]); err != nil {
			return nil, err
		}
		alone := make([]byte, 0, 13)
		alone = append(alone, hdr[4:9]...)
		size := uint64(m.usize)
		if m.flags&2 != 0 {
			size = ^uint64(0) // ends with a marker
		}
		alone = binary.LittleEndian.AppendUint64(alone, size)
		lr, err := lzma.NewReader(io.MultiReader(bytes.NewReader(alone), src))
		if err != nil {
			return nil, err
		}
		zr = lr
	default:
		return nil, errNotUnpacked
	}
	limit := min(max(m.usize, 0), budget)
	b, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if int64(len(b)) > limit {
		if limit == budget {
			return b[:limit], errTooLarge
		}
		b = b[:limit] // more than it claims: scan what it claimed
	}
	return b, err
}

// walkLocal lists the members from their local headers, from the start
// of the archive (at the bytes before it, if any) to the first thing that
// is not a local header. A member that defers its sizes to a data
// descriptor takes them from the central directory or the descriptor.
func walkLocal(r io.ReaderAt, size, at int64, sizes map[int64][2]int64) ([]zipEntry, error) {
	var out []zipEntry
	for at+30 <= size && len(out) < 1<<20 {
		m, err := readLocalHeader(r, size, at)
		if err == errNoHeader {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if m.flags&8 != 0 && m.csize == 0 {
			sz, ok := sizes[at]
			if !ok && m.method == 0 {
				sz[0], ok = findDescriptor(r, m.offset, size)
				sz[1] = sz[0]
			}
			if !ok {
				return out, fmt.Errorf("member %q defers its size and neither the central directory nor a data descriptor gives it", m.name)
			}
			m.csize, m.usize = sz[0], sz[1]
		}
		if m.offset+m.csize > size {
			m.csize = size - m.offset
			out = append(out, m)
			return out, fmt.Errorf("member %q runs past the end of the file", m.name)
		}
		out = append(out, m)
		at = m.offset + m.csize
		if m.flags&8 != 0 {
			at = skipDescriptor(r, at, size)
		}
	}
	return out, nil
}

var errNoHeader = fmt.Errorf("no local header")

// readLocalHeader reads the local header at an offset.
func readLocalHeader(r io.ReaderAt, size, at int64) (zipEntry, error) {
	var hdr [30]byte
	if at < 0 || at+30 > size {
		return zipEntry{}, fmt.Errorf("local header offset %d is outside the file", at)
	}
	if _, err := r.ReadAt(hdr[:], at); err != nil {
		return zipEntry{}, err
	}
	if string(hdr[:4]) != "PK\x03\x04" {
		return zipEntry{}, errNoHeader
	}
	m := zipEntry{headerAt: at,
		flags:  binary.LittleEndian.Uint16(hdr[6:]),
		method: binary.LittleEndian.Uint16(hdr[8:]),
		csize:  int64(binary.LittleEndian.Uint32(hdr[18:])),
		usize:  int64(binary.LittleEndian.Uint32(hdr[22:])),
	}
	nlen := int64(binary.LittleEndian.Uint16(hdr[26:]))
	elen := int64(binary.LittleEndian.Uint16(hdr[28:]))
	if at+30+nlen+elen > size {
		return zipEntry{}, fmt.Errorf("local header at %d runs past the end of the file", at)
	}
	nameb := make([]byte, nlen+elen)
	if _, err := r.ReadAt(nameb, at+30); err != nil {
		return zipEntry{}, err
	}
	m.name = string(nameb[:nlen])
	if m.csize == 0xffffffff || m.usize == 0xffffffff {
		m.csize, m.usize, _ = zip64Sizes(nameb[nlen:], m.csize, m.usize, 0)
	}
	m.offset = at + 30 + nlen + elen
	return m, nil
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

// zip64Sizes reads the zip64 extra field: the sizes and the header
// offset that were too large for their 32-bit fields, in that order.
func zip64Sizes(extra []byte, csize, usize, offset int64) (int64, int64, int64) {
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
				csize, body = int64(binary.LittleEndian.Uint64(body)), body[8:]
			}
			if offset == 0xffffffff && len(body) >= 8 {
				offset = int64(binary.LittleEndian.Uint64(body))
			}
		}
		extra = extra[4+n:]
	}
	return csize, usize, offset
}

// readCentral reads the central directory as Python's zipfile does: the
// last end-of-directory record, the zip64 record just before it, and the
// entries in the directory's declared size; offsets are moved by the
// bytes found before the archive (concat).
func readCentral(r io.ReaderAt, size int64) ([]centralEntry, int64, error) {
	tail := min(size, 65536+22)
	buf := make([]byte, tail)
	if _, err := r.ReadAt(buf, size-tail); err != nil && err != io.EOF {
		return nil, 0, err
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < 22 {
		return nil, 0, fmt.Errorf("no end of central directory record")
	}
	eocdAt := size - tail + int64(i)
	eocd := buf[i:]
	cdSize := int64(binary.LittleEndian.Uint32(eocd[12:]))
	cdOff := int64(binary.LittleEndian.Uint32(eocd[16:]))
	zip64 := false
	if eocdAt >= 20 {
		var loc [20]byte
		if _, err := r.ReadAt(loc[:], eocdAt-20); err == nil && string(loc[:4]) == "PK\x06\x07" && eocdAt-20-56 >= 0 {
			var rec [56]byte
			if _, err := r.ReadAt(rec[:], eocdAt-20-56); err == nil && string(rec[:4]) == "PK\x06\x06" {
				cdSize = int64(binary.LittleEndian.Uint64(rec[40:]))
				cdOff = int64(binary.LittleEndian.Uint64(rec[48:]))
				zip64 = true
			}
		}
	}
	end := eocdAt
	if zip64 {
		end -= 20 + 56
	}
	concat := end - cdSize - cdOff
	if cdSize < 0 || cdOff < 0 || concat < 0 || cdSize > 1<<30 || cdOff+concat > size {
		return nil, 0, fmt.Errorf("central directory out of bounds")
	}
	// zipfile reads the directory's declared size and then entry after
	// entry from it; a name, extra field or comment that runs past its
	// end is cut there (a short read), not refused.
	cd := make([]byte, min(size-(cdOff+concat), cdSize))
	if _, err := r.ReadAt(cd, cdOff+concat); err != nil && err != io.EOF {
		return nil, 0, err
	}
	var out []centralEntry
	for p := 0; int64(p) < cdSize; {
		if p+46 > len(cd) || string(cd[p:p+4]) != "PK\x01\x02" {
			return out, concat, fmt.Errorf("central directory entry %d is malformed", len(out))
		}
		e := centralEntry{
			flags:  binary.LittleEndian.Uint16(cd[p+8:]),
			method: binary.LittleEndian.Uint16(cd[p+10:]),
			csize:  int64(binary.LittleEndian.Uint32(cd[p+20:])),
			usize:  int64(binary.LittleEndian.Uint32(cd[p+24:])),
		}
		nlen := int(binary.LittleEndian.Uint16(cd[p+28:]))
		elen := int(binary.LittleEndian.Uint16(cd[p+30:]))
		clen := int(binary.LittleEndian.Uint16(cd[p+32:]))
		off := int64(binary.LittleEndian.Uint32(cd[p+42:]))
		clip := func(a, b int) []byte { return cd[min(a, len(cd)):min(b, len(cd))] }
		e.name = string(clip(p+46, p+46+nlen))
		e.csize, e.usize, off = zip64Sizes(clip(p+46+nlen, p+46+nlen+elen), e.csize, e.usize, off)
		e.headerAt = off + concat
		out = append(out, e)
		p += 46 + nlen + elen + clen
	}
	return out, concat, nil
}

// centralSizes indexes the central directory's sizes by header offset.
func centralSizes(central []centralEntry) map[int64][2]int64 {
	out := make(map[int64][2]int64, len(central))
	for _, c := range central {
		out[c.headerAt] = [2]int64{c.csize, c.usize}
	}
	return out
}

// centralDir reports whether a file ends like a zip archive.
func centralDir(r io.ReaderAt, size int64) (int, int64, []centralEntry, error) {
	c, concat, err := readCentral(r, size)
	if err == nil && len(c) == 0 {
		err = fmt.Errorf("an empty central directory")
	}
	return len(c), concat, c, err
}

// storagePickle walks a tensor storage that starts like a pickle, and
// returns its entry if a pickle is there.
func (s *Scanner) storagePickle(path string, r io.ReaderAt, size int64, depth int) *finding.File {
	head := make([]byte, 512)
	n, _ := r.ReadAt(head, 0)
	if Detect(path, head[:n], size) != FormatPickle {
		return nil
	}
	res, err := s.walk(r, size)
	if !isPickle(res, err) || len(res.Imports) == 0 {
		return nil // numbers that merely start like a pickle
	}
	return &finding.File{Path: path, Format: FormatPickle, Findings: s.judgePickle(res, "", depth)}
}

// scanMember scans an archive member: like a file, except that members
// with nothing to report are left out of the report.
func (s *Scanner) scanMember(path string, r io.ReaderAt, size int64, depth int) []finding.File {
	head := make([]byte, 512)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	if format := Detect(path, head, size); format == FormatPickle {
		f := finding.File{Path: path, Format: format}
		if f.Findings = s.scanPickle(r, size, "", true, depth); f.Findings != nil {
			return []finding.File{f}
		}
		// Bytes that merely start like a pickle: judged as unknown data.
		return s.dropQuiet(s.unknown(path, r, size, head, depth))
	}
	return s.dropQuiet(s.scan(path, r, size, depth))
}

// dropQuiet leaves out of a member's report a text member with nothing
// to say.
func (s *Scanner) dropQuiet(files []finding.File) []finding.File {
	if len(files) == 1 && files[0].Format == FormatText && len(files[0].Findings) == 0 {
		return nil
	}
	return files
}
