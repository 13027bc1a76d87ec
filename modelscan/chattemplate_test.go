package modelscan

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelgate/modelgate/finding"
)

func templateIDs(fs []finding.Finding) []string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.RuleID+":"+string(f.Severity)+":"+f.Evidence)
	}
	return ids
}

// TestChatTemplatesInTheWild: the templates of widely used model
// families (ChatML, Llama 3 and 3.1 with tools, Mistral, Qwen with
// tools and thinking, Gemma, Hermes, Phi-3, DeepSeek) are clean.
func TestChatTemplatesInTheWild(t *testing.T) {
	files, _ := filepath.Glob("testdata/templates/*.jinja")
	if len(files) < 8 {
		t.Fatalf("found %d templates", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if fs := checkChatTemplate(string(src), "chat_template"); len(fs) != 0 {
			t.Errorf("%s: %v", filepath.Base(f), templateIDs(fs))
		}
	}
}

// TestChatTemplateObfuscation writes the payloads an attacker would:
// each reaches Python's internals by a spelling a pattern does not see.
func TestChatTemplateObfuscation(t *testing.T) {
	critical := map[string]string{
		"plain":            `{{ ''.__class__.__mro__[1].__subclasses__() }}`,
		"hex escapes":      `{{ x['\x5f\x5fclass\x5f\x5f'] }}`,
		"unicode escapes":  `{{ x["\u005f\u005fglobals\u005f\u005f"] }}`,
		"octal escapes":    `{{ x['\137\137init\137\137'] }}`,
		"named escape":     `{{ x['\N{LOW LINE}\N{LOW LINE}class__'] }}`,
		"tilde":            `{{ x['__cla' ~ 'ss__'] }}`,
		"plus":             `{{ x['__glo' + 'bals__'] }}`,
		"adjacent strings": `{{ x['__cl' 'ass__'] }}`,
		"attr filter":      `{{ x|attr('__cla' ~ 'ss__') }}`,
		"reverse filter":   `{{ x|attr('__ssalc__'|reverse) }}`,
		"slice reverse":    `{{ x|attr('__ssalc__'[::-1]) }}`,
		"slice":            `{{ x['zz__class__zz'[2:-2]] }}`,
		"join filter":      `{{ x|attr(['__', 'class', '__']|join) }}`,
		"str join":         `{{ x|attr(''.join(['__cl', 'ass__'])) }}`,
		"format method":    `{{ x|attr('{}{}{}'.format('__', 'class', '__')) }}`,
		"format filter":    `{{ x|attr('%s%s%s'|format('__', 'class', '__')) }}`,
		"percent chars":    `{{ x|attr('%c%cclass%c%c' % (95, 95, 95, 95)) }}`,
		"replace":          `{{ x|attr('XXclassXX'.replace('X', '_')) }}`,
		"replace filter":   `{{ x|attr('XXclassXX'|replace('X', '_')) }}`,
		"upper lower":      `{{ x|attr('__CLASS__'|lower) }}`,
		"swapcase":         `{{ x|attr('__CLASS__'.swapcase()) }}`,
		"set":              `{% set a = '__cla' %}{% set b = a ~ 'ss__' %}{{ x[b] }}`,
		"set later":        `{% for i in range(2) %}{{ x[k] }}{% set k = 'o' ~ 's' %}{% endfor %}`,
		"set block":        `{% set k %}__class__{% endset %}{{ x|attr(k) }}`,
		"namespace kwarg":  `{% set ns = namespace(k='o' ~ 's') %}{{ x[ns.k] }}`,
		"namespace attr":   `{% set ns = namespace() %}{% set ns.k = 'o' ~ 's' %}{{ x[ns.k] }}`,
		"set block pieces": `{% set k %}__cl{{ 'ass' }}__{% endset %}{{ x|attr(k|trim) }}`,
		"loop over consts": `{% for k in ['__cla' ~ 'ss__'] %}{{ x[k] }}{% endfor %}`,
		"loop tuple":       `{% for a, b in [('y', '__globals__')] %}{{ x[b] }}{% endfor %}`,
		"macro argument":   `{% macro m(k) %}{{ x[k] }}{% endmacro %}{{ m('__cla' ~ 'ss__') }}`,
		"macro non-dunder": `{% macro m(k) %}{{ x[k] }}{% endmacro %}{{ m('o' ~ 's') }}`,
		"macro keyword":    `{% macro m(a, k='b') %}{{ x[k] }}{% endmacro %}{{ m(1, k='o' ~ 's') }}`,
		"macro default":    `{% macro m(k='o' ~ 's') %}{{ x[k] }}{% endmacro %}{{ m() }}`,
		"macro varargs":    `{% macro m() %}{{ x[varargs[0]] }}{% endmacro %}{{ m('o' ~ 's') }}`,
		"macro kwargs":     `{% macro m() %}{{ x[kwargs.k] }}{% endmacro %}{{ m(k='po' ~ 'pen') }}`,
		"map attribute":    `{{ xs|map(attribute='__class__')|list }}`,
		"map attr":         `{{ xs|map('attr', '__cla' ~ 'ss__')|list }}`,
		"selectattr path":  `{{ xs|selectattr('a.__class__')|list }}`,
		"sort attribute":   `{{ xs|sort(attribute='__class__') }}`,
		"groupby":          `{{ xs|groupby('__class__') }}`,
		"join attribute":   `{{ xs|join(',', '__class__') }}`,
		"format fields":    `{{ '{0.__class__.__mro__}'.format(x) }}`,
		"format item":      `{{ '{0[__globals__]}'.format(x) }}`,
		"dict keyword":     `{{ dict(__class__=1) }}`,
		"cycler":           `{{ cycler.__init__.__globals__.os.popen('id').read() }}`,
		"namespace os":     `{{ namespace.__init__.__globals__['o' ~ 's'].popen('id') }}`,
		"lipsum":           `{{ lipsum.__globals__['os'].popen('id') }}`,
		"self":             `{{ self._TemplateReference__context }}`,
		"whitespace ctl":   "{%- set k = '__cla' -%}\n{{- x[k ~ 'ss__'] -}}",
		"first filter":     `{{ x|attr(['__class__']|first) }}`,
		"conditional":      `{{ x[('__class__' if y else 'a')] }}`,
		"default filter":   `{{ x|attr(y|default('__class__')) }}`,
		"mro":              `{{ x.__class__|attr('mro')() }}`,
		"split join":       `{{ x|attr('__cla,ss__'.split(',')|join) }}`,
		"unicode space":    "{{\u3000x.__class__\u3000}}",
		"vertical tab":     "{{\vx['__class__']\v}}",
	}
	for name, tmpl := range critical {
		fs := checkChatTemplate(tmpl, "chat_template")
		if !hasID(fs, "MS502") {
			t.Errorf("%s: %s: %v", name, tmpl, templateIDs(fs))
		}
	}
	// Names only rendering knows: high, whatever they turn out to be.
	dynamic := map[string]string{
		"attr variable":        `{{ x|attr(name) }}`,
		"attr message":         `{{ x|attr(messages[0].content) }}`,
		"subscript computed":   `{{ x[y ~ 'ss__'] }}`,
		"loop over dict keys":  `{% for k in {'a': 1} %}{{ x[k] }}{% endfor %}`,
		"macro parameter":      `{% macro m(k) %}{{ x|attr(k) }}{% endmacro %}{{ m(y) }}`,
		"macro passed around":  `{% macro m(k) %}{{ x[k] }}{% endmacro %}{% set f = m %}{{ f('o' ~ z) }}`,
		"self referencing set": `{% for i in range(3) %}{% set k = k ~ '_' %}{% endfor %}{{ x[k ~ 'class'] }}`,
		"format of variable":   `{{ fmt.format(x) }}`,
		"map by filter name":   `{{ xs|map(f, 'y')|list }}`,
		"namespace value":      `{% set ns = namespace(k=y ~ 'a') %}{{ x[ns.k] }}`,
		"dict value":           `{% set d = {'k': y ~ 'a'} %}{{ x[d.k] }}`,
		"namespace assigned":   `{% set ns = namespace() %}{% set ns.k = 'o' ~ y %}{{ x[ns.k] }}`,
		"unfoldable set":       `{% set k = 'a__class__a'|truncate(9) %}{{ x[k] }}`,
		"unpacked filter args": `{{ xs|map(**kw)|list }}`,
		"chained subscripts":   `{{ x[messages[0].content][messages[1].content] }}`,
		"chain through set":    `{% set y = x[a] %}{{ y[b] }}`,
		"huge fold":            `{{ x['_' * 100000 ~ 'class'] }}`,
	}
	for name, tmpl := range dynamic {
		fs := checkChatTemplate(tmpl, "chat_template")
		if !hasID(fs, "MS503") && !hasID(fs, "MS502") {
			t.Errorf("%s: %s: %v", name, tmpl, templateIDs(fs))
		}
	}
	// What jinja2 refuses to parse is reported, not passed as clean.
	for _, tmpl := range []string{`{{ x.__class__ `, `{% foo %}`, `{% for x in y %}`, `{{ 'a' ~ }}`,
		`{{ x['__cla'{# a comment inside a tag is not one #} ~ 'ss__'] }}`} {
		fs := checkChatTemplate(tmpl, "chat_template")
		if !hasID(fs, "MS504") {
			t.Errorf("%q: %v", tmpl, templateIDs(fs))
		}
	}
	if fs := checkChatTemplate(`{% foo %}{{ x.__class__ }}`, "t"); !hasID(fs, "MS502") {
		t.Errorf("an unparsable template with a payload: %v", templateIDs(fs))
	}
}

// TestChatTemplateBenignShapes: what real templates do with names must
// stay quiet.
func TestChatTemplateBenignShapes(t *testing.T) {
	for _, tmpl := range []string{
		`{% for m in messages %}{% for k in m %}{{ k }}={{ m[k] }}{% endfor %}{% endfor %}`,
		`{% for k, v in tool.parameters.properties|items %}{{ k }}{{ v['type'] }}{% endfor %}`,
		`{{ messages|map(attribute='content')|join('\n') }}`,
		`{{ messages|selectattr('role', 'equalto', 'user')|list|length }}`,
		`{% set ns = namespace(system='') %}{% set ns.system = messages[0]['content'] %}{{ ns.system }}`,
		`{{ raise_exception('The system message mentions __init__ and os.popen in prose') }}`,
		`{{ '{"name": "' ~ tool.name ~ '"}' }}`,
		`{{ strftime_now('%d %b %Y') }}`,
		`{% if message.content is string %}{{ message.content|trim }}{% endif %}`,
		`{%- for message in messages[::-1] %}{{ loop.index0 }}{% endfor %}`,
		`{% set keys = ['role', 'content'] %}{% for k in keys %}{{ message[k] }}{% endfor %}`,
		`{% macro render(m, key) %}{{ m[key] }}{% endmacro %}{% for k in message %}{{ render(message, k) }}{% endfor %}`,
	} {
		if fs := checkChatTemplate(tmpl, "chat_template"); len(fs) != 0 {
			t.Errorf("%s: %v", tmpl, templateIDs(fs))
		}
	}
}

func hasID(fs []finding.Finding, id string) bool {
	for _, f := range fs {
		if f.RuleID == id {
			return true
		}
	}
	return false
}

// TestTemplateFiles: Hugging Face repositories carry chat templates in
// tokenizer_config.json (a string, or a list of named templates) and in
// chat_template.jinja; each is judged like a GGUF's.
func TestTemplateFiles(t *testing.T) {
	evil := `{{ x['__cla' ~ 'ss__'] }}`
	cases := []struct {
		name, body string
		want       string
	}{
		{"tokenizer_config.json", `{"chat_template": "` + strings.ReplaceAll(evil, `'`, `\u0027`) + `", "eos_token": "</s>"}`, "MS502"},
		{"tokenizer_config.json", `{"chat_template": [{"name": "default", "template": "{{ m.content }}"}, {"name": "tool_use", "template": "{{ x|attr('__ssalc__'|reverse) }}"}]}`, "MS502"},
		{"chat_template.jinja", evil, "MS502"},
		{"tokenizer_config.json", `{"chat_template": 7}`, "MS504"},
		{"tokenizer_config.json", `{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}`, ""},
		{"tokenizer_config.json", `{"eos_token": "</s>"}`, ""},
		{"README.md", evil, ""}, // not a template file
	}
	for _, c := range cases {
		ids, _, _ := scan(t, c.name, []byte(c.body))
		if c.want == "" && len(ids) != 0 || c.want != "" && !has(ids, c.want) {
			t.Errorf("%s %s: %v, want %q", c.name, c.body, ids, c.want)
		}
	}
}
