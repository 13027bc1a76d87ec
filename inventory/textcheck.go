package inventory

import (
	"encoding/binary"
	"unicode/utf8"
)

// looksText reports what modelscan.LooksText does (UTF-8 without NULs or
// control characters other than tab, newlines, form feed and escape; a
// sequence cut at the end allowed) eight bytes at a time while they are
// printable ASCII: every file the walk meets is checked, and most of them
// are source code.
func looksText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		// No byte with the high bit set, none below 0x20 and no DEL.
		if x&highs == 0 && (x-0x20*ones)&^x&highs == 0 && (x+0x01*ones)&highs == 0 {
			continue
		}
		if !textRun(b[i:i+8], i+8 == len(b)) {
			return textRun(b[i:], true)
		}
	}
	return textRun(b[i:], true)
}

// textRun checks bytes one by one; at the end of the input a cut UTF-8
// sequence is allowed. It reports false also for a sequence that goes on
// past the run, which the caller then checks with what follows.
func textRun(b []byte, atEnd bool) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b || c == 0x7f {
			return false
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return atEnd && len(b)-i < 4 && !utf8.FullRune(b[i:])
		}
		i += n
	}
	return true
}
