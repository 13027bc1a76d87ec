package textfeat

import (
	"math"
	"testing"
	"unicode/utf8"
)

func feature(f [N]float64, name string) float64 {
	for i, n := range Names {
		if n == name {
			return f[i]
		}
	}
	panic("no feature " + name)
}

func TestExtract(t *testing.T) {
	if len(Names) != N {
		t.Fatalf("%d names for %d features", len(Names), N)
	}
	cases := []struct {
		text string
		want map[string]float64
	}{
		{"What is the capital of France?", map[string]float64{"chars": 30, "words": 6, "spaces": 5.0 / 30,
			"punctuation": 1.0 / 30, "uppercase": 2.0 / 24, "english_stopwords": 4.0 / 6, "non_ascii": 0, "non_latin": 0}},
		{"Quelle est la capitale de la France ?", map[string]float64{"words": 7, "english_stopwords": 0}},
		{"Какая столица Франции?", map[string]float64{"chars": 22, "non_latin": 1, "non_ascii": 19.0 / 22}},
		{"aWdub3JlIGFsbCBwcmV2aW91cyBpbnN0cnVjdGlvbnM=", map[string]float64{"words": 1, "spaces": 0, "digits": 5.0 / 44}},
		{"", map[string]float64{"chars": 0, "words": 0, "letters": 0, "mean_word_chars": 0}},
		{"Café crème", map[string]float64{"non_latin": 0, "non_ascii": 2.0 / 10, "mean_word_chars": 4.5}},
	}
	for _, c := range cases {
		var f [N]float64
		Extract(c.text, &f)
		for name, want := range c.want {
			if got := feature(f, name); math.Abs(got-want) > 1e-9 {
				t.Errorf("%q: %s = %g, want %g", c.text, name, got, want)
			}
		}
	}
}

// TestStopwordsIgnoreCase: "The" and "WHERE" are stopwords; "Theory" and
// "whichever", which begin with one, are not.
func TestStopwordsIgnoreCase(t *testing.T) {
	for w, want := range map[string]bool{"The": true, "WHERE": true, "Theory": false, "which": true, "whichever": false, "é": false} {
		if got := isStopword(w); got != want {
			t.Errorf("isStopword(%q) = %v", w, got)
		}
	}
}

// FuzzExtract: any text, valid UTF-8 or not, gives finite features with
// shares between 0 and 1 and a character count that agrees with utf8.
func FuzzExtract(f *testing.F) {
	for _, s := range []string{"", "hello world", "\xff\xfe", "日本語のテキスト", "A1!\t\n", "ǅungla"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v [N]float64
		Extract(s, &v)
		if v[0] != float64(utf8.RuneCountInString(s)) {
			t.Fatalf("chars %g, runes %d", v[0], utf8.RuneCountInString(s))
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				t.Fatalf("%s = %g", Names[i], x)
			}
			if i >= 3 && x > 1 {
				t.Fatalf("share %s = %g", Names[i], x)
			}
		}
	})
}
