package jinja

import (
	"strings"
	"testing"
)

func TestParseTree(t *testing.T) {
	body, err := Parse(`{% for k, v in d|items if v %}{{ x['\x5f' ~ k][1:-1:2].y(1, a=2) is not none }}{% endfor %}`)
	if err != nil {
		t.Fatal(err)
	}
	f := body[0].(*For)
	if tgt := f.Target.(*Tuple); len(tgt.Items) != 2 {
		t.Fatalf("target %#v", f.Target)
	}
	if f.Iter.(*Filter).Name != "items" || f.Test == nil {
		t.Fatalf("iter %#v, test %#v", f.Iter, f.Test)
	}
	neg := f.Body[0].(*Output).Nodes[0].(*Unary)
	call := neg.Node.(*Test).Node.(*Call)
	if len(call.Args) != 1 || call.Kwargs[0].Key != "a" {
		t.Fatalf("call %#v", call)
	}
	slice := call.Node.(*Getattr).Node.(*Getitem)
	if _, ok := slice.Arg.(*Slice); !ok {
		t.Fatalf("slice %#v", slice.Arg)
	}
	concat := slice.Node.(*Getitem).Arg.(*Concat)
	if c := concat.Items[0].(*Const); c.Value != "_" {
		t.Fatalf("the escape was not decoded: %#v", c.Value)
	}
}

// TestParseRefuses: what jinja2 refuses, with its reasons.
func TestParseRefuses(t *testing.T) {
	for src, want := range map[string]string{
		"{{ x ":                               "unexpected end of template",
		"{% foo %}":                           "unknown tag",
		"{% for a in b %}":                    "Unexpected end of template",
		"{% endfor %}":                        "unknown tag",
		"{{ (1, 2] }}":                        "unexpected ']', expected ')'",
		"{{ 012 }}":                           "expected token",
		"{{ '\\x5' }}":                        "truncated",
		"{% raw %}x":                          "Missing end of raw directive",
		"{# x":                                "Missing end of comment tag",
		"{{ ٣ }}":                             "Invalid character in identifier",
		"{% set 1 = 2 %}":                     "can't assign",
		"{% macro m(a=1, b) %}{% endmacro %}": "non-default argument",
		"{{ a is b is c }}":                   "cannot chain",
		"{% from 'x' import _y %}":            "underline",
		strings.Repeat("{{ (", 600):           "nested more than",
	} {
		_, err := Parse(src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.40q) = %v, want an error with %q", src, err, want)
		}
	}
}
