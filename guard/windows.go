package guard

// Windows returns the parts of s that lie within before bytes ahead of
// and after bytes behind each anchor offset (in increasing order), merged
// where they meet. With lines set, each part is widened to whole lines;
// otherwise to the whitespace around it, so that a pattern never starts
// or ends inside a word it would not have split. Detectors that run many
// regular expressions over long texts run each only where its anchor
// words are: a pattern costs tens of nanoseconds per byte it reads.
func Windows(s string, anchors []int, before, after int, lines bool) [][2]int {
	var out [][2]int
	edge := space
	if lines {
		edge = func(c byte) bool { return c == '\n' }
	}
	for _, a := range anchors {
		k := len(out)
		if k > 0 && a+after <= out[k-1][1] {
			continue // inside the last part already
		}
		start, end := max(0, a-before), min(len(s), a+after)
		if k > 0 && start <= out[k-1][1] {
			start = out[k-1][0]
			end = max(end, out[k-1][1])
		} else {
			for start > 0 && !edge(s[start-1]) {
				start--
			}
		}
		for end < len(s) && !edge(s[end]) {
			end++
		}
		if k > 0 && start == out[k-1][0] {
			out[k-1][1] = end
			continue
		}
		out = append(out, [2]int{start, end})
	}
	return out
}

func space(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
