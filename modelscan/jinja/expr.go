package jinja

// The expression grammar, rule for rule as jinja2.parser.Parser has it.

func (p *parser) isTupleEnd(extraEnd []string) bool {
	switch p.cur().kind {
	case tVariableEnd, tBlockEnd:
		return true
	}
	return p.is(")") || extraEnd != nil && p.isAny(extraEnd...)
}

// parseTuple parses expressions separated by commas: a Tuple when there
// is a comma, the expression itself otherwise. A simplified tuple holds
// only primaries (assignment targets).
func (p *parser) parseTuple(simplified, withCondexpr bool, extraEnd []string, explicitParens, withNamespace bool) Expr {
	var items []Expr
	isTuple := false
	for {
		if len(items) > 0 {
			p.expect(",")
		}
		if p.isTupleEnd(extraEnd) {
			break
		}
		if simplified {
			items = append(items, p.parsePrimary(withNamespace))
		} else {
			items = append(items, p.parseExpression(withCondexpr))
		}
		if !p.is(",") {
			break
		}
		isTuple = true
	}
	if !isTuple {
		if len(items) > 0 {
			return items[0]
		}
		if !explicitParens {
			p.fail("Expected an expression, got %q", p.cur().String())
		}
	}
	return &Tuple{Items: items}
}

func (p *parser) parseExpression(withCondexpr bool) Expr {
	if withCondexpr {
		return p.parseCondexpr()
	}
	return p.parseOr()
}

func (p *parser) parseCondexpr() Expr {
	p.enter()
	defer p.leave()
	expr1 := p.parseOr()
	for p.skipIf("name:if") {
		c := &CondExpr{Expr1: expr1, Test: p.parseOr()}
		if p.skipIf("name:else") {
			c.Expr2 = p.parseCondexpr()
		}
		expr1 = c
	}
	return expr1
}

func (p *parser) parseOr() Expr {
	left := p.parseAnd()
	for p.skipIf("name:or") {
		left = &BinOp{Op: "or", Left: left, Right: p.parseAnd()}
	}
	return left
}

func (p *parser) parseAnd() Expr {
	left := p.parseNot()
	for p.skipIf("name:and") {
		left = &BinOp{Op: "and", Left: left, Right: p.parseNot()}
	}
	return left
}

func (p *parser) parseNot() Expr {
	if p.skipIf("name:not") {
		p.enter()
		defer p.leave()
		return &Unary{Op: "not", Node: p.parseNot()}
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() Expr {
	expr := p.parseMath1()
	var ops []Operand
	for {
		t := p.cur()
		switch {
		case t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == "<=" || t.val == ">" || t.val == ">="):
			p.next()
			ops = append(ops, Operand{Op: t.val, Expr: p.parseMath1()})
		case p.skipIf("name:in"):
			ops = append(ops, Operand{Op: "in", Expr: p.parseMath1()})
		case p.is("name:not") && test(p.look(), "name:in"):
			p.next()
			p.next()
			ops = append(ops, Operand{Op: "notin", Expr: p.parseMath1()})
		default:
			if len(ops) == 0 {
				return expr
			}
			return &Compare{Left: expr, Ops: ops}
		}
	}
}

func (p *parser) parseMath1() Expr {
	left := p.parseConcat()
	for p.is("+") || p.is("-") {
		op := p.next().val
		left = &BinOp{Op: op, Left: left, Right: p.parseConcat()}
	}
	return left
}

func (p *parser) parseConcat() Expr {
	items := []Expr{p.parseMath2()}
	for p.skipIf("~") {
		items = append(items, p.parseMath2())
	}
	if len(items) == 1 {
		return items[0]
	}
	return &Concat{Items: items}
}

func (p *parser) parseMath2() Expr {
	left := p.parsePow()
	for p.is("*") || p.is("/") || p.is("//") || p.is("%") {
		op := p.next().val
		left = &BinOp{Op: op, Left: left, Right: p.parsePow()}
	}
	return left
}

func (p *parser) parsePow() Expr {
	left := p.parseUnary(true)
	for p.skipIf("**") {
		left = &BinOp{Op: "**", Left: left, Right: p.parseUnary(true)}
	}
	return left
}

func (p *parser) parseUnary(withFilter bool) Expr {
	p.enter()
	defer p.leave()
	var node Expr
	switch {
	case p.skipIf("-"):
		node = &Unary{Op: "-", Node: p.parseUnary(false)}
	case p.skipIf("+"):
		node = &Unary{Op: "+", Node: p.parseUnary(false)}
	default:
		node = p.parsePrimary(false)
	}
	node = p.parsePostfix(node)
	if withFilter {
		node = p.parseFilterExpr(node)
	}
	return node
}

func (p *parser) parsePrimary(withNamespace bool) Expr {
	p.enter()
	defer p.leave()
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &Const{Value: true}
		case "false", "False":
			return &Const{Value: false}
		case "none", "None":
			return &Const{Value: nil}
		}
		if withNamespace && p.is(".") {
			p.next()
			return &NSRef{Name: t.val, Attr: p.expect("name").val}
		}
		return &Name{Name: t.val}
	case tString:
		p.next()
		s := t.val
		for p.is("string") {
			s += p.next().val
		}
		return &Const{Value: s}
	case tInteger:
		p.next()
		return &Const{Value: Int(t.val)}
	case tFloat:
		p.next()
		return &Const{Value: t.num}
	}
	switch {
	case p.skipIf("("):
		e := p.parseTuple(false, true, nil, true, false)
		p.expect(")")
		return e
	case p.skipIf("["):
		var l List
		for !p.is("]") {
			if len(l.Items) > 0 {
				p.expect(",")
			}
			if p.is("]") {
				break
			}
			l.Items = append(l.Items, p.parseExpression(true))
		}
		p.expect("]")
		return &l
	case p.skipIf("{"):
		var d Dict
		for !p.is("}") {
			if len(d.Keys) > 0 {
				p.expect(",")
			}
			if p.is("}") {
				break
			}
			d.Keys = append(d.Keys, p.parseExpression(true))
			p.expect(":")
			d.Values = append(d.Values, p.parseExpression(true))
		}
		p.expect("}")
		return &d
	}
	p.fail("unexpected %q", t.String())
	return nil
}

func (p *parser) parsePostfix(node Expr) Expr {
	for {
		switch {
		case p.is(".") || p.is("["):
			node = p.parseSubscript(node)
		case p.is("("):
			node = p.parseCall(node)
		default:
			return node
		}
	}
}

func (p *parser) parseFilterExpr(node Expr) Expr {
	for {
		switch {
		case p.is("|"):
			node = p.parseFilter(node, false)
		case p.is("name:is"):
			node = p.parseTest(node)
		case p.is("("):
			node = p.parseCall(node)
		default:
			return node
		}
	}
}

func (p *parser) parseSubscript(node Expr) Expr {
	t := p.next()
	if t.val == "." {
		attr := p.next()
		switch attr.kind {
		case tName:
			return &Getattr{Node: node, Attr: attr.val}
		case tInteger:
			return &Getitem{Node: node, Arg: &Const{Value: Int(attr.val)}}
		}
		p.fail("expected name or number")
	}
	var args []Expr
	for !p.is("]") {
		if len(args) > 0 {
			p.expect(",")
		}
		args = append(args, p.parseSubscribed())
	}
	p.expect("]")
	if len(args) == 1 {
		return &Getitem{Node: node, Arg: args[0]}
	}
	return &Getitem{Node: node, Arg: &Tuple{Items: args}}
}

func (p *parser) parseSubscribed() Expr {
	var s Slice
	if !p.skipIf(":") {
		e := p.parseExpression(true)
		if !p.is(":") {
			return e
		}
		p.next()
		s.Start = e
	}
	if !p.is(":") && !p.is("]") && !p.is(",") {
		s.Stop = p.parseExpression(true)
	}
	if p.skipIf(":") && !p.is("]") && !p.is(",") {
		s.Step = p.parseExpression(true)
	}
	return &s
}

type callArgs struct {
	args               []Expr
	kwargs             []Keyword
	dynArgs, dynKwargs Expr
}

func (p *parser) parseCallArgs() callArgs {
	p.expect("(")
	var c callArgs
	ensure := func(ok bool) {
		if !ok {
			p.fail("invalid syntax for function call expression")
		}
	}
	requireComma := false
	for !p.is(")") {
		if requireComma {
			p.expect(",")
			if p.is(")") {
				break
			}
		}
		switch {
		case p.skipIf("*"):
			ensure(c.dynArgs == nil && c.dynKwargs == nil)
			c.dynArgs = p.parseExpression(true)
		case p.skipIf("**"):
			ensure(c.dynKwargs == nil)
			c.dynKwargs = p.parseExpression(true)
		case p.is("name") && test(p.look(), "="):
			ensure(c.dynKwargs == nil)
			key := p.next().val
			p.next()
			c.kwargs = append(c.kwargs, Keyword{Key: key, Value: p.parseExpression(true)})
		default:
			ensure(c.dynArgs == nil && c.dynKwargs == nil && len(c.kwargs) == 0)
			c.args = append(c.args, p.parseExpression(true))
		}
		requireComma = true
	}
	p.expect(")")
	return c
}

func (p *parser) parseCall(node Expr) Expr {
	c := p.parseCallArgs()
	return &Call{Node: node, Args: c.args, Kwargs: c.kwargs, DynArgs: c.dynArgs, DynKwargs: c.dynKwargs}
}

// parseFilter parses |name(args) filters after node; startInline parses
// a filter tag's first one, which has no |.
func (p *parser) parseFilter(node Expr, startInline bool) Expr {
	for p.is("|") || startInline {
		if !startInline {
			p.next()
		}
		startInline = false
		name := p.expect("name").val
		for p.skipIf(".") {
			name += "." + p.expect("name").val
		}
		var c callArgs
		if p.is("(") {
			c = p.parseCallArgs()
		}
		node = &Filter{Node: node, Name: name, Args: c.args, Kwargs: c.kwargs, DynArgs: c.dynArgs, DynKwargs: c.dynKwargs}
	}
	return node
}

func (p *parser) parseTest(node Expr) Expr {
	p.next()
	negated := p.skipIf("name:not")
	name := p.expect("name").val
	for p.skipIf(".") {
		name += "." + p.expect("name").val
	}
	var c callArgs
	t := p.cur()
	switch {
	case p.is("("):
		c = p.parseCallArgs()
	case (t.kind == tName || t.kind == tString || t.kind == tInteger || t.kind == tFloat || p.isAny("(", "[", "{")) &&
		!p.isAny("name:else", "name:or", "name:and"):
		if p.is("name:is") {
			p.fail("You cannot chain multiple tests with is")
		}
		c.args = []Expr{p.parsePostfix(p.parsePrimary(false))}
	}
	var out Expr = &Test{Node: node, Name: name, Args: c.args, Kwargs: c.kwargs, DynArgs: c.dynArgs, DynKwargs: c.dynKwargs}
	if negated {
		out = &Unary{Op: "not", Node: out}
	}
	return out
}
