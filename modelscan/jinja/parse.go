package jinja

import (
	"fmt"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/modelscan/internal/pystr"
)

// Parse parses a template as jinja2's Environment.parse does, with the
// loopcontrols and do extensions and Hugging Face's generation tag.
func Parse(src string) (body []Node, err error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			body, err = nil, e
		}
	}()
	return p.subparse(nil), nil
}

// maxDepth bounds nesting, where jinja2 would stop at Python's recursion
// limit: a template of ten thousand open brackets must not exhaust the
// scanner's stack.
const maxDepth = 500

type parser struct {
	toks      []token
	pos       int
	depth     int
	endTokens [][]string
}

func (p *parser) fail(format string, args ...any) {
	panic(&SyntaxError{Line: p.cur().line, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) cur() token  { return p.toks[p.pos] }
func (p *parser) look() token { return p.toks[min(p.pos+1, len(p.toks)-1)] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

// test matches a token against "name:for", a kind's name or an operator.
func test(t token, expr string) bool {
	if name, ok := strings.CutPrefix(expr, "name:"); ok {
		return t.kind == tName && t.val == name
	}
	switch expr {
	case "name":
		return t.kind == tName
	case "string":
		return t.kind == tString
	case "integer":
		return t.kind == tInteger
	case "float":
		return t.kind == tFloat
	case "block_end":
		return t.kind == tBlockEnd
	case "variable_end":
		return t.kind == tVariableEnd
	case "eof":
		return t.kind == tEOF
	}
	return t.kind == tOp && t.val == expr
}

func (p *parser) is(expr string) bool { return test(p.cur(), expr) }

func (p *parser) isAny(exprs ...string) bool {
	return slices.ContainsFunc(exprs, p.is)
}

func (p *parser) skipIf(expr string) bool {
	if p.is(expr) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(expr string) token {
	if !p.is(expr) {
		t := p.cur()
		want := strings.TrimPrefix(expr, "name:")
		if t.kind == tEOF {
			p.fail("unexpected end of template, expected %q", want)
		}
		p.fail("expected token %q, got %q", want, t.String())
	}
	return p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail("template nested more than %d deep", maxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

var statementKeywords = []string{"for", "if", "block", "extends", "print", "macro", "include", "from", "import",
	"set", "with", "autoescape"}

func (p *parser) subparse(endTokens []string) []Node {
	p.enter()
	defer p.leave()
	var body []Node
	var data []Node
	flush := func() {
		if len(data) > 0 {
			body = append(body, &Output{Nodes: data})
			data = nil
		}
	}
	if endTokens != nil {
		p.endTokens = append(p.endTokens, endTokens)
		defer func() { p.endTokens = p.endTokens[:len(p.endTokens)-1] }()
	}
	for !p.is("eof") {
		switch t := p.cur(); t.kind {
		case tData:
			data = append(data, &TemplateData{Data: t.val})
			p.next()
		case tVariableBegin:
			p.next()
			data = append(data, p.parseTuple(false, true, nil, false, false))
			p.expect("variable_end")
		case tBlockBegin:
			flush()
			p.next()
			if endTokens != nil && p.isAny(endTokens...) {
				return body
			}
			body = append(body, p.parseStatement())
			p.expect("block_end")
		default:
			p.fail("unexpected %q", t.String())
		}
	}
	flush()
	return body
}

func (p *parser) parseStatement() Node {
	t := p.cur()
	if t.kind != tName {
		p.fail("tag name expected")
	}
	switch t.val {
	case "for":
		return p.parseFor()
	case "if":
		return p.parseIf()
	case "block":
		return p.parseBlock()
	case "extends":
		p.next()
		return &Extends{Template: p.parseExpression(true)}
	case "print":
		p.next()
		var out Output
		for !p.is("block_end") {
			if len(out.Nodes) > 0 {
				p.expect(",")
			}
			out.Nodes = append(out.Nodes, p.parseExpression(true))
		}
		return &out
	case "macro":
		p.next()
		m := &Macro{Name: p.expect("name").val}
		m.Args, m.Defaults = p.parseSignature()
		m.Body = p.parseStatements([]string{"name:endmacro"}, true)
		return m
	case "include":
		return p.parseInclude()
	case "from":
		return p.parseFrom()
	case "import":
		p.next()
		n := &Import{Template: p.parseExpression(true)}
		p.expect("name:as")
		n.Target = p.expect("name").val
		n.WithContext = p.parseImportContext(false)
		return n
	case "set":
		return p.parseSet()
	case "with":
		return p.parseWith()
	case "autoescape":
		p.next()
		s := &Scope{Value: p.parseExpression(true)}
		s.Body = p.parseStatements([]string{"name:endautoescape"}, true)
		return s
	case "call":
		return p.parseCallBlock()
	case "filter":
		p.next()
		f := &FilterBlock{Filter: p.parseFilter(nil, true).(*Filter)}
		f.Body = p.parseStatements([]string{"name:endfilter"}, true)
		return f
	// Extensions: jinja2.ext.loopcontrols, jinja2.ext.do, and the
	// generation tag of Hugging Face's chat template environment.
	case "break":
		p.next()
		return &Break{}
	case "continue":
		p.next()
		return &Continue{}
	case "do":
		p.next()
		return &ExprStmt{Node: p.parseTuple(false, true, nil, false, false)}
	case "generation":
		p.next()
		return &Generation{Body: p.parseStatements([]string{"name:endgeneration"}, true)}
	}
	p.failUnknownTag(t.val)
	return nil
}

// failUnknownTag fails as jinja2 does for a tag no statement starts,
// saying which end tag it was looking for.
func (p *parser) failUnknownTag(name string) {
	msg := fmt.Sprintf("Encountered unknown tag %q.", name)
	if len(p.endTokens) > 0 {
		var want []string
		for _, e := range p.endTokens[len(p.endTokens)-1] {
			want = append(want, strings.TrimPrefix(e, "name:"))
		}
		msg += " Jinja was looking for the following tags: " + strings.Join(want, " or ") + "."
	}
	p.fail("%s", msg)
}

func (p *parser) parseStatements(endTokens []string, dropNeedle bool) []Node {
	p.skipIf(":")
	p.expect("block_end")
	body := p.subparse(endTokens)
	if p.is("eof") {
		var want []string
		for _, e := range endTokens {
			want = append(want, strings.TrimPrefix(e, "name:"))
		}
		p.fail("Unexpected end of template. Jinja was looking for the following tags: %s.", strings.Join(want, " or "))
	}
	if dropNeedle {
		p.next()
	}
	return body
}

func (p *parser) parseSet() Node {
	p.next()
	target := p.parseAssignTarget(true, false, nil, true)
	if p.skipIf("=") {
		return &Assign{Target: target, Value: p.parseTuple(false, true, nil, false, false)}
	}
	a := &AssignBlock{Target: target}
	if f := p.parseFilter(nil, false); f != nil {
		a.Filter = f.(*Filter)
	}
	a.Body = p.parseStatements([]string{"name:endset"}, true)
	return a
}

func (p *parser) parseFor() Node {
	p.expect("name:for")
	f := &For{Target: p.parseAssignTarget(true, false, []string{"name:in"}, false)}
	p.expect("name:in")
	f.Iter = p.parseTuple(false, false, []string{"name:recursive"}, false, false)
	if p.skipIf("name:if") {
		f.Test = p.parseExpression(true)
	}
	f.Recursive = p.skipIf("name:recursive")
	f.Body = p.parseStatements([]string{"name:endfor", "name:else"}, false)
	if p.next().val != "endfor" {
		f.Else = p.parseStatements([]string{"name:endfor"}, true)
	}
	return f
}

func (p *parser) parseIf() Node {
	p.expect("name:if")
	result := &If{}
	node := result
	for {
		node.Test = p.parseTuple(false, false, nil, false, false)
		node.Body = p.parseStatements([]string{"name:elif", "name:else", "name:endif"}, false)
		t := p.next()
		if test(t, "name:elif") {
			node = &If{}
			result.Elif = append(result.Elif, node)
			continue
		}
		if test(t, "name:else") {
			result.Else = p.parseStatements([]string{"name:endif"}, true)
		}
		return result
	}
}

func (p *parser) parseWith() Node {
	p.next()
	w := &With{}
	for !p.is("block_end") {
		if len(w.Targets) > 0 {
			p.expect(",")
		}
		w.Targets = append(w.Targets, p.parseAssignTarget(true, false, nil, false))
		p.expect("=")
		w.Values = append(w.Values, p.parseExpression(true))
	}
	w.Body = p.parseStatements([]string{"name:endwith"}, true)
	return w
}

func (p *parser) parseBlock() Node {
	p.next()
	b := &Block{Name: p.expect("name").val}
	b.Scoped = p.skipIf("name:scoped")
	b.Required = p.skipIf("name:required")
	if p.is("-") {
		p.fail("Block names in Jinja have to be valid Python identifiers and may not contain hyphens, use an underscore instead.")
	}
	b.Body = p.parseStatements([]string{"name:endblock"}, true)
	if b.Required {
		for _, n := range b.Body {
			out, ok := n.(*Output)
			if !ok {
				p.fail("Required blocks can only contain comments or whitespace")
			}
			for _, d := range out.Nodes {
				td, ok := d.(*TemplateData)
				if !ok || td.Data == "" || strings.TrimFunc(td.Data, pystr.IsSpace) != "" {
					p.fail("Required blocks can only contain comments or whitespace")
				}
			}
		}
	}
	p.skipIf("name:" + b.Name)
	return b
}

func (p *parser) parseImportContext(deflt bool) bool {
	if p.isAny("name:with", "name:without") && test(p.look(), "name:context") {
		with := p.next().val == "with"
		p.next()
		return with
	}
	return deflt
}

func (p *parser) parseInclude() Node {
	p.next()
	n := &Include{Template: p.parseExpression(true)}
	if p.is("name:ignore") && test(p.look(), "name:missing") {
		n.IgnoreMissing = true
		p.next()
		p.next()
	}
	n.WithContext = p.parseImportContext(true)
	return n
}

func (p *parser) parseFrom() Node {
	p.next()
	n := &FromImport{Template: p.parseExpression(true)}
	p.expect("name:import")
	context := func() bool {
		if p.isAny("name:with", "name:without") && test(p.look(), "name:context") {
			n.WithContext = p.next().val == "with"
			p.next()
			return true
		}
		return false
	}
	for {
		if len(n.Names) > 0 {
			p.expect(",")
		}
		if !p.is("name") {
			p.expect("name")
		}
		if context() {
			break
		}
		target := p.expect("name").val
		if strings.HasPrefix(target, "_") {
			p.fail("names starting with an underline can not be imported")
		}
		alias := target
		if p.skipIf("name:as") {
			alias = p.expect("name").val
		}
		n.Names = append(n.Names, [2]string{target, alias})
		if context() || !p.is(",") {
			break
		}
	}
	return n
}

func (p *parser) parseSignature() (args []*Name, defaults []Expr) {
	p.expect("(")
	for !p.is(")") {
		if len(args) > 0 {
			p.expect(",")
		}
		arg := &Name{Name: p.expect("name").val}
		if p.skipIf("=") {
			defaults = append(defaults, p.parseExpression(true))
		} else if len(defaults) > 0 {
			p.fail("non-default argument follows default argument")
		}
		args = append(args, arg)
	}
	p.expect(")")
	return args, defaults
}

func (p *parser) parseCallBlock() Node {
	p.next()
	c := &CallBlock{}
	if p.is("(") {
		c.Args, c.Defaults = p.parseSignature()
	}
	call, ok := p.parseExpression(true).(*Call)
	if !ok {
		p.fail("expected call")
	}
	c.Call = call
	c.Body = p.parseStatements([]string{"name:endcall"}, true)
	return c
}

// parseAssignTarget parses what a set, for or with assigns to.
func (p *parser) parseAssignTarget(withTuple, nameOnly bool, extraEnd []string, withNamespace bool) Expr {
	var target Expr
	switch {
	case nameOnly:
		target = &Name{Name: p.expect("name").val}
	case withTuple:
		target = p.parseTuple(true, true, extraEnd, false, withNamespace)
	default:
		target = p.parsePrimary(withNamespace)
	}
	if !canAssign(target) {
		p.fail("can't assign to %s", strings.ToLower(strings.TrimPrefix(fmt.Sprintf("%T", target), "*jinja.")))
	}
	return target
}

func canAssign(e Expr) bool {
	switch e := e.(type) {
	case *Name:
		switch e.Name {
		case "true", "false", "none", "True", "False", "None":
			return false
		}
		return true
	case *NSRef:
		return true
	case *Tuple:
		for _, it := range e.Items {
			if !canAssign(it) {
				return false
			}
		}
		return true
	}
	return false
}
