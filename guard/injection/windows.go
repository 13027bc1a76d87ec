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

// eachWindowLogit calls f with the linear model's logit of each window of s
// (see windows.go) and where it lies. A segment's features are computed
// once; a pair's logit sums its two segments', which counts an n-gram
// shared by both twice and leaves out those across the boundary: the same
// approximation training makes.
func eachWindowLogit(m *Model, s string, sc *scratch, f func(z float64, lo, hi int)) [][2]int {
	if len(s) < windowFromBytes {
		return sc.segs
	}
	segs := segments(s, sc.segs)
	if len(segs) < 2 {
		return segs
	}
	var prevSum float64
	var prevN int
	for k, g := range segs {
		sc.fs = features(s[g[0]:g[1]], sc.fs)
		var sum float64
		for _, b := range sc.fs {
			sum += float64(m.Weights[b])
		}
		n := len(sc.fs)
		if n > 0 {
			f(float64(m.Bias)+sum*lengthNorm(n), g[0], g[1])
		}
		if k > 0 && n+prevN > 0 {
			f(float64(m.Bias)+(sum+prevSum)*lengthNorm(n+prevN), segs[k-1][0], g[1])
		}
		prevSum, prevN = sum, n
	}
	return segs
}
