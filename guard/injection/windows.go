package injection

import "unicode/utf8"

// Windows: an instruction planted in a long document is a sentence or a
// line among hundreds, and over the whole text its few features are
// outweighed. So a text is also scored per window (each segment, a
// sentence or a line, and each pair of adjacent segments, which overlap),
// and the best window counts as evidence beside the whole.
const (
	// minSegment is the length under which a segment joins the next: a
	// list marker or a heading alone says nothing.
	minSegment = 24
	// maxSegment cuts sentences that run on (tables, code, minified text)
	// so no window is the whole document again.
	maxSegment = 400
	// maxSegments bounds the windows of one text; past it, segments are
	// merged pairwise until they fit, so a long text costs at most about
	// three passes over its first maxFeatureBytes.
	maxSegments = 48
	// windowFromBytes is the length under which a text is one window.
	windowFromBytes = 160
)

// segments splits s into spans at line breaks and sentence ends.
func segments(s string, buf [][2]int) [][2]int {
	out := buf[:0]
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, [2]int{start, end})
		}
		start = end
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch r {
		case '\n':
			if i-start >= minSegment {
				flush(i)
			}
		case '.', '!', '?', ';', '。', '！', '？', '；', '।', '؟':
			if (i == len(s) || s[i] == ' ' || s[i] == '\n' || r >= utf8.RuneSelf) && i-start >= minSegment {
				flush(i)
			}
		default:
			if i-start >= maxSegment && (r == ' ' || r == ',' || r == '|' || r == '\t') {
				flush(i)
			}
		}
	}
	flush(len(s))
	for len(out) > maxSegments {
		merged := out[:0]
		for k := 0; k < len(out); k += 2 {
			if k+1 < len(out) {
				merged = append(merged, [2]int{out[k][0], out[k+1][1]})
			} else {
				merged = append(merged, out[k])
			}
		}
		out = merged
	}
	return out
}
