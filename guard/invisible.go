package guard

import "unicode/utf8"

// Entity types of invisible text.
const (
	EntityTagCharacters = "UNICODE_TAGS"        // U+E0000–E007F: ASCII spelled invisibly
	EntityBidiControl   = "BIDI_CONTROL"        // reorders what a reader sees
	EntityInvisible     = "INVISIBLE_CHARACTER" // zero-width and other format characters
)

// InvisibleText finds characters that render as nothing but that a model
// reads: Unicode tag characters that spell out hidden instructions, bidi
// controls that make text display differently from what it says, and
// zero-width characters that break words apart. Each run of them is one
// finding, so Strip removes them and Block refuses the message.
type InvisibleText struct{}

// Entities lists the entity types the detector reports.
func (InvisibleText) Entities() []string {
	return []string{EntityTagCharacters, EntityBidiControl, EntityInvisible}
}

// Detect reports each run of invisible characters in t.
func (InvisibleText) Detect(t *Text, emit func(Finding)) {
	s := t.Text
	start, kind := -1, ""
	flush := func(end int) {
		if start >= 0 {
			score := 0.6
			if kind != EntityInvisible {
				score = 0.95
			}
			emit(Finding{Entity: kind, Start: start, End: end, Score: score})
			start, kind = -1, ""
		}
	}
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			flush(i)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !Invisible(r) || r == 0x200D && joinsEmoji(s, i, size) {
			flush(i)
			i += size
			continue
		}
		k := invisibleKind(r)
		if start < 0 {
			start = i
		}
		if kind == "" || k != EntityInvisible && kind == EntityInvisible {
			kind = k // a run is reported as its most telling character
		}
		i += size
	}
	flush(len(s))
}

func invisibleKind(r rune) string {
	switch {
	case r >= 0xE0000 && r <= 0xE007F:
		return EntityTagCharacters
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return EntityBidiControl
	}
	return EntityInvisible
}

// joinsEmoji reports whether the zero-width joiner at i sits between two
// pictographs (👩‍💻), where it is how the emoji is spelled.
func joinsEmoji(s string, i, size int) bool {
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	next, _ := utf8.DecodeRuneInString(s[i+size:])
	return pictograph(prev) && pictograph(next)
}

func pictograph(r rune) bool {
	return r >= 0x1F000 && r <= 0x1FAFF || r >= 0x2600 && r <= 0x27BF || r == 0xFE0F
}
