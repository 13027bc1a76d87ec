package jinja

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any text parses or fails with a SyntaxError, never a panic
// or a runaway recursion, and a parse is deterministic.
func FuzzParse(f *testing.F) {
	f.Add("{% for m in messages %}{{ m['role'] ~ m.content|trim }}{% endfor %}")
	f.Add("{% raw %}{{ x }}{% endraw %}{#- c -#}{%- set a, b = 1, 2 -%}")
	f.Add("{{ x|attr('\\x5f\\x5fclass\\x5f\\x5f')[1:2:3] if a is not b(1) else c }}")
	f.Add("{% macro m(a, b=1) %}{{ caller() }}{% endmacro %}{% call(x) m(1, *y, **z) %}{% endcall %}")
	f.Add(strings.Repeat("{{ (", 300))
	f.Fuzz(func(t *testing.T, src string) {
		body, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("%q: error %v is not a SyntaxError", src, err)
			}
			return
		}
		n := 0
		for _, s := range body {
			Walk(s, func(Node) bool { n++; return true })
		}
		again, _ := Parse(src)
		m := 0
		for _, s := range again {
			Walk(s, func(Node) bool { m++; return true })
		}
		if n != m {
			t.Fatalf("%q parsed to %d nodes, then %d", src, n, m)
		}
	})
}
