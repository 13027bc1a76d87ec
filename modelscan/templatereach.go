package modelscan

import (
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/modelgate/modelgate/modelscan/jinja"
)

// A chat template reaches Python's internals through attribute and item
// names: x.__class__, x['__globals__'], x|attr('__init__'),
// x|map(attribute='__class__'), '{0.__class__}'.format(x). Obfuscation
// builds the names from pieces the template puts together ('__cla' ~
// 'ss__', '__ssalc__'|reverse, '%c' % 95, a {% set %} or a loop over
// constants), so the analysis folds every expression whose value is
// fixed by the template, as jinja2's own constant folding would, and
// tracks variables flow-insensitively: a variable is any of the values
// assigned to it anywhere in the template. A name it cannot fold is
// dynamic. Only a plain variable the template does not assign from its
// own strings (a loop over the conversation's message keys) may
// subscript without being judged.

// templateReach is what a template reaches.
type templateReach struct {
	names   []string // attribute and item names, folded
	dynamic []string // names only rendering knows, each with why
	consts  []string // strings the template folds an expression to
}

// maxFold bounds a folded string and a set of alternatives: a template
// that doubles a string in twenty {% set %}s must not take the scanner's
// memory. A value past the bound is unknown, so a name built from it is
// dynamic.
const (
	maxFold = 1 << 16
	maxAlts = 1 << 10
)

// tval is what the analysis knows of a value.
type tval struct {
	str    *string
	num    *int64
	list   []tval
	isList bool
	alts   []tval          // one of these
	other  bool            // known not to be a string: a bool, None, a float, a dict
	plain  bool            // a variable the template reads from its context
	taint  bool            // unknown, and built from the template's own strings
	dict   map[string]tval // a dict with constant string keys
	method string          // a bound method of a constant receiver in recv
	recv   *tval
	// computed: the value was reached through a name computed at render
	// time, so a second computed name on it makes a chain.
	computed bool
}

func tstr(s string) tval {
	if len(s) > maxFold {
		return tval{taint: true}
	}
	return tval{str: &s}
}
func tint(n int64) tval { return tval{num: &n} }

func (v tval) known() bool { return v.str != nil || v.num != nil || v.isList || v.other }

// text is what ~ makes of a constant.
func (v tval) text() (string, bool) {
	switch {
	case v.str != nil:
		return *v.str, true
	case v.num != nil:
		return strconv.FormatInt(*v.num, 10), true
	}
	return "", false
}

type binding struct {
	value  jinja.Expr   // an assignment, or a loop's iterable
	index  int          // the item of a tuple target, or -1
	loop   bool         // value is iterated over
	body   []jinja.Node // {% set x %}body{% endset %}
	filter *jinja.Filter
	taint  bool // a macro parameter: its value comes from call sites
	plain  bool // an import: a module of macros
}

type templateAnalysis struct {
	reach      templateReach
	bindings   map[string][]binding
	memo       map[string]tval
	evaluating map[string]bool
	macros     map[string][]*jinja.Macro
	calls      []*jinja.Call
	uses       map[string]int // how often each name is read
}

// analyzeTemplate parses a chat template and returns what it reaches.
func analyzeTemplate(src string) (*templateReach, error) {
	body, err := jinja.Parse(src)
	if err != nil {
		return nil, err
	}
	a := &templateAnalysis{bindings: map[string][]binding{}, memo: map[string]tval{}, evaluating: map[string]bool{},
		macros: map[string][]*jinja.Macro{}, uses: map[string]int{}}
	for _, n := range body {
		jinja.Walk(n, a.collect)
	}
	a.bindParameters()
	for _, n := range body {
		a.stmt(n)
	}
	return &a.reach, nil
}

// collect records the assignments a statement makes.
func (a *templateAnalysis) collect(n jinja.Node) bool {
	bindTarget := func(target jinja.Expr, value jinja.Expr, loop bool) {
		switch t := target.(type) {
		case *jinja.Name:
			a.bindings[t.Name] = append(a.bindings[t.Name], binding{value: value, index: -1, loop: loop})
		case *jinja.NSRef:
			// {% set ns.k = v %}: ns.k is bound as a name of its own.
			key := t.Name + "." + t.Attr
			a.bindings[key] = append(a.bindings[key], binding{value: value, index: -1, loop: loop})
		case *jinja.Tuple:
			for i, it := range t.Items {
				if nm, ok := it.(*jinja.Name); ok {
					a.bindings[nm.Name] = append(a.bindings[nm.Name], binding{value: value, index: i, loop: loop})
				}
			}
		}
	}
	switch n := n.(type) {
	case *jinja.Name:
		a.uses[n.Name]++
	case *jinja.Call:
		a.calls = append(a.calls, n)
	case *jinja.Assign:
		bindTarget(n.Target, n.Value, false)
	case *jinja.For:
		bindTarget(n.Target, n.Iter, true)
	case *jinja.With:
		for i, t := range n.Targets {
			bindTarget(t, n.Values[i], false)
		}
	case *jinja.AssignBlock:
		if t, ok := n.Target.(*jinja.Name); ok {
			a.bindings[t.Name] = append(a.bindings[t.Name], binding{body: n.Body, filter: n.Filter, index: -1})
		}
	case *jinja.Macro:
		a.macros[n.Name] = append(a.macros[n.Name], n)
		a.bindings[n.Name] = append(a.bindings[n.Name], binding{plain: true})
	case *jinja.CallBlock:
		// caller(...) passes what the macro chooses: unknown.
		for _, p := range n.Args {
			a.bindings[p.Name] = append(a.bindings[p.Name], binding{taint: true})
		}
	case *jinja.Import:
		a.bindings[n.Target] = append(a.bindings[n.Target], binding{plain: true})
	case *jinja.FromImport:
		for _, nm := range n.Names {
			a.bindings[nm[1]] = append(a.bindings[nm[1]], binding{plain: true})
		}
	}
	return true
}

// bindParameters binds each macro parameter to the arguments of every
// call of the macro, and to its default. A macro the template uses
// other than by calling it by name (assigned, passed, called with
// *args) may be called with anything the template builds: its
// parameters are tainted.
func (a *templateAnalysis) bindParameters() {
	direct := map[string]int{}
	for _, c := range a.calls {
		if nm, ok := c.Node.(*jinja.Name); ok {
			direct[nm.Name]++
		}
	}
	for name, ms := range a.macros {
		indirect := a.uses[name] > direct[name]
		for _, m := range ms {
			firstDefault := len(m.Args) - len(m.Defaults)
			for i, p := range m.Args {
				if i >= firstDefault {
					a.bindings[p.Name] = append(a.bindings[p.Name], binding{value: m.Defaults[i-firstDefault], index: -1})
				}
				if indirect {
					a.bindings[p.Name] = append(a.bindings[p.Name], binding{taint: true})
				}
			}
			for _, extra := range []string{"varargs", "kwargs"} {
				if indirect {
					a.bindings[extra] = append(a.bindings[extra], binding{taint: true})
				}
			}
		}
	}
	for _, c := range a.calls {
		nm, ok := c.Node.(*jinja.Name)
		if !ok {
			continue
		}
		for _, m := range a.macros[nm.Name] {
			a.bindCall(m, c)
		}
	}
}

// bindCall binds a macro's parameters to one call's arguments.
func (a *templateAnalysis) bindCall(m *jinja.Macro, c *jinja.Call) {
	bind := func(name string, b binding) { a.bindings[name] = append(a.bindings[name], b) }
	for i, arg := range c.Args {
		if i < len(m.Args) {
			bind(m.Args[i].Name, binding{value: arg, index: -1})
		}
	}
	if len(c.Args) > len(m.Args) {
		bind("varargs", binding{value: &jinja.Tuple{Items: c.Args[len(m.Args):]}, index: -1})
	}
	var extra jinja.Dict
	for _, kw := range c.Kwargs {
		isParam := slices.ContainsFunc(m.Args, func(p *jinja.Name) bool { return p.Name == kw.Key })
		if isParam {
			bind(kw.Key, binding{value: kw.Value, index: -1})
		} else {
			extra.Keys = append(extra.Keys, &jinja.Const{Value: kw.Key})
			extra.Values = append(extra.Values, kw.Value)
		}
	}
	if len(extra.Keys) > 0 {
		bind("kwargs", binding{value: &extra, index: -1})
	}
	if c.DynArgs != nil || c.DynKwargs != nil {
		for _, p := range m.Args {
			bind(p.Name, binding{taint: true})
		}
		bind("varargs", binding{taint: true})
		bind("kwargs", binding{taint: true})
	}
}

// stmt evaluates every expression of a statement, for what it reaches.
func (a *templateAnalysis) stmt(n jinja.Node) {
	switch n := n.(type) {
	case *jinja.Output:
		for _, x := range n.Nodes {
			if e, ok := x.(jinja.Expr); ok {
				a.eval(e)
			}
		}
	case *jinja.For:
		a.eval(n.Iter)
		a.evalOpt(n.Test)
		a.stmts(n.Body)
		a.stmts(n.Else)
	case *jinja.If:
		a.eval(n.Test)
		a.stmts(n.Body)
		for _, e := range n.Elif {
			a.stmt(e)
		}
		a.stmts(n.Else)
	case *jinja.Assign:
		a.eval(n.Value)
	case *jinja.AssignBlock:
		a.stmts(n.Body)
		if n.Filter != nil {
			a.filter(n.Filter, tval{})
		}
	case *jinja.Macro:
		a.evalAll(n.Defaults)
		a.stmts(n.Body)
	case *jinja.CallBlock:
		a.eval(n.Call)
		a.evalAll(n.Defaults)
		a.stmts(n.Body)
	case *jinja.FilterBlock:
		a.filter(n.Filter, tval{})
		a.stmts(n.Body)
	case *jinja.With:
		a.evalAll(n.Values)
		a.stmts(n.Body)
	case *jinja.Block:
		a.stmts(n.Body)
	case *jinja.Extends:
		a.eval(n.Template)
	case *jinja.Include:
		a.eval(n.Template)
	case *jinja.Import:
		a.eval(n.Template)
	case *jinja.FromImport:
		a.eval(n.Template)
	case *jinja.Scope:
		a.eval(n.Value)
		a.stmts(n.Body)
	case *jinja.ExprStmt:
		a.eval(n.Node)
	case *jinja.Generation:
		a.stmts(n.Body)
	}
}

func (a *templateAnalysis) stmts(ns []jinja.Node) {
	for _, n := range ns {
		a.stmt(n)
	}
}

func (a *templateAnalysis) evalAll(es []jinja.Expr) []tval {
	out := make([]tval, len(es))
	for i, e := range es {
		out[i] = a.eval(e)
	}
	return out
}

func (a *templateAnalysis) evalOpt(e jinja.Expr) tval {
	if e == nil {
		return tval{other: true}
	}
	return a.eval(e)
}

// eval folds an expression and records what it reaches.
func (a *templateAnalysis) eval(e jinja.Expr) tval {
	v := a.value(e)
	a.seen(v)
	return v
}

// seen records the strings a value may be.
func (a *templateAnalysis) seen(v tval) {
	if v.str != nil {
		a.reach.consts = append(a.reach.consts, *v.str)
	}
	for _, x := range v.list {
		a.seen(x)
	}
	for _, x := range v.alts {
		a.seen(x)
	}
}

func (a *templateAnalysis) value(e jinja.Expr) tval {
	switch e := e.(type) {
	case *jinja.Const:
		switch c := e.Value.(type) {
		case string:
			return tstr(c)
		case jinja.Int:
			if n, err := strconv.ParseInt(string(c), 10, 64); err == nil {
				return tint(n)
			}
		}
		return tval{other: true}
	case *jinja.Name:
		return a.name(e.Name)
	case *jinja.Tuple:
		return tval{isList: true, list: a.evalAll(e.Items)}
	case *jinja.List:
		return tval{isList: true, list: a.evalAll(e.Items)}
	case *jinja.Dict:
		keys := a.evalAll(e.Keys)
		a.evalAll(e.Values)
		// Its items are as tainted as the strings they were built from.
		d := tval{other: true, taint: hasString(e), dict: map[string]tval{}}
		for i, k := range keys {
			if k.str == nil {
				d.dict = nil
				break
			}
			d.dict[*k.str] = a.valueOf(e.Values[i])
		}
		return d
	case *jinja.Getattr:
		recv := a.eval(e.Node)
		a.reach.names = append(a.reach.names, e.Attr)
		if recv.str != nil || recv.isList || recv.alts != nil && allConst(recv.alts) {
			return tval{method: e.Attr, recv: &recv}
		}
		if e.Attr == "format" || e.Attr == "format_map" {
			return tval{method: e.Attr}
		}
		// A dict's item (jinja2 falls back to it), a namespace's
		// attribute, and what {% set ns.attr %} assigns it.
		var vs []tval
		if item, ok := recv.dict[e.Attr]; ok {
			vs = append(vs, item)
		}
		if nm, ok := e.Node.(*jinja.Name); ok && len(a.bindings[nm.Name+"."+e.Attr]) > 0 {
			vs = append(vs, a.name(nm.Name+"."+e.Attr))
		}
		if len(vs) > 0 {
			return alternatives(vs...)
		}
		// An attribute of a value built from the template's strings
		// (namespace(k='o' ~ 's').k) is as tainted as the value.
		return tval{computed: recv.computed, taint: recv.taint}
	case *jinja.Getitem:
		recv := a.eval(e.Node)
		if s, ok := e.Arg.(*jinja.Slice); ok {
			v := sliceOf(recv, a.evalOpt(s.Start), a.evalOpt(s.Stop), a.evalOpt(s.Step))
			v.computed = v.computed || recv.computed
			return v
		}
		key := a.eval(e.Arg)
		// A subscript by the conversation's own data (tools[name],
		// messages[loop.index0 - 1]) is how templates read it; one by a
		// name built from the template's strings is not, and neither is
		// a chain of computed names, which walks an object graph.
		fromContext := !hasString(e.Arg)
		if recv.computed && isComputed(key) {
			a.reach.dynamic = append(a.reach.dynamic, "a chain of subscripts with names computed at render time")
		}
		a.reached(key, fromContext, "a subscript")
		v := indexOf(recv, key)
		v.computed = v.computed || recv.computed || isComputed(key)
		v.taint = v.taint || recv.taint && !v.known()
		return v
	case *jinja.Call:
		return a.call(e)
	case *jinja.Filter:
		var v tval
		if e.Node != nil {
			v = a.eval(e.Node)
		}
		out := mapAlts(v, func(v tval) tval { return a.filter(e, v) })
		out.computed = out.computed || v.computed && !out.known()
		return out
	case *jinja.Test:
		a.eval(e.Node)
		a.evalAll(e.Args)
		a.keywords(e.Kwargs)
		a.evalOpt(e.DynArgs)
		a.evalOpt(e.DynKwargs)
		return tval{other: true}
	case *jinja.BinOp:
		l, r := a.eval(e.Left), a.eval(e.Right)
		if e.Op == "and" || e.Op == "or" {
			return alternatives(l, r)
		}
		return lift2(l, r, func(l, r tval) tval { return fold(e.Op, l, r) })
	case *jinja.Concat:
		out := tstr("")
		for _, it := range e.Items {
			out = lift2(out, a.eval(it), concat2)
		}
		return out
	case *jinja.Unary:
		v := a.eval(e.Node)
		switch {
		case e.Op == "-" && v.num != nil:
			return tint(-*v.num)
		case e.Op == "+" && v.num != nil:
			return v
		}
		return tval{other: e.Op == "not"}
	case *jinja.Compare:
		a.eval(e.Left)
		for _, o := range e.Ops {
			a.eval(o.Expr)
		}
		return tval{other: true}
	case *jinja.CondExpr:
		a.eval(e.Test)
		if c, ok := e.Test.(*jinja.Const); ok && e.Expr2 != nil {
			// A constant test picks its branch, as jinja2 folds it; the
			// other is still checked for what it reaches.
			one, two := a.eval(e.Expr1), a.eval(e.Expr2)
			if truthy(c.Value) {
				return one
			}
			return two
		}
		one := a.eval(e.Expr1)
		if e.Expr2 == nil {
			return alternatives(one, tval{other: true})
		}
		return alternatives(one, a.eval(e.Expr2))
	case *jinja.Slice, *jinja.NSRef:
		return tval{}
	}
	return tval{}
}

// valueOf is an expression's value, tainted when the analysis cannot
// fold it and the template's own strings went into it.
func (a *templateAnalysis) valueOf(e jinja.Expr) tval {
	v := a.value(e)
	if !v.known() && v.alts == nil && !v.plain && hasString(e) {
		v.taint = true
	}
	return v
}

// truthy is a constant's truth in Python.
func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v != ""
	case jinja.Int:
		return v != "0"
	case float64:
		return v != 0
	}
	return false
}

// alternatives is a value that is one of vs.
func alternatives(vs ...tval) tval {
	var out []tval
	for _, v := range vs {
		if v.alts != nil {
			out = append(out, v.alts...)
		} else {
			out = append(out, v)
		}
	}
	if len(out) > maxAlts {
		return tval{taint: true}
	}
	if len(out) == 1 {
		return out[0]
	}
	return tval{alts: out}
}

// name is a variable's value: any value the template assigns it, or,
// never assigned, the context's.
func (a *templateAnalysis) name(n string) tval {
	bs := a.bindings[n]
	if len(bs) == 0 {
		return tval{plain: true}
	}
	if v, ok := a.memo[n]; ok {
		return v
	}
	if a.evaluating[n] {
		// Assigned from itself ({% set s = s ~ 'x' %} in a loop): any
		// number of rounds, so unknown.
		return tval{taint: true}
	}
	a.evaluating[n] = true
	var vs []tval
	for _, b := range bs {
		vs = append(vs, a.bound(b))
	}
	delete(a.evaluating, n)
	v := alternatives(vs...)
	a.memo[n] = v
	return v
}

// bound is one binding's value.
func (a *templateAnalysis) bound(b binding) tval {
	switch {
	case b.taint:
		return tval{taint: true}
	case b.plain:
		return tval{plain: true}
	case b.body != nil:
		return a.blockValue(b)
	}
	v := a.value(b.value)
	literals := hasString(b.value)
	if b.loop {
		v = itemOf(v, literals)
	}
	if b.index >= 0 {
		v = unpackItem(v, b.index, literals)
	}
	if !v.known() && v.alts == nil && !v.plain && literals {
		v.taint = true
	}
	if !v.known() && v.alts == nil && !v.taint {
		v.plain = true
	}
	return v
}

// itemOf is what a loop over v binds: one of a constant sequence's
// items, or unknown, tainted when the iterable was built from strings.
func itemOf(v tval, literals bool) tval {
	switch {
	case v.isList:
		if len(v.list) == 0 {
			return tval{other: true}
		}
		return alternatives(v.list...)
	case v.str != nil:
		var items []tval
		for _, r := range *v.str {
			items = append(items, tstr(string(r)))
		}
		return alternatives(items...)
	case v.alts != nil:
		var items []tval
		for _, x := range v.alts {
			items = append(items, itemOf(x, literals))
		}
		return alternatives(items...)
	case v.plain && !literals:
		return tval{plain: true, computed: v.computed}
	}
	return tval{taint: literals || v.taint, computed: v.computed}
}

// unpackItem is item i of a value unpacked into a tuple target.
func unpackItem(v tval, i int, literals bool) tval {
	switch {
	case v.isList && i < len(v.list):
		return v.list[i]
	case v.str != nil:
		if r := []rune(*v.str); i < len(r) {
			return tstr(string(r[i]))
		}
	case v.alts != nil:
		var items []tval
		for _, x := range v.alts {
			items = append(items, unpackItem(x, i, literals))
		}
		return alternatives(items...)
	case v.plain && !literals:
		return tval{plain: true, computed: v.computed}
	}
	return tval{taint: literals || v.taint, computed: v.computed}
}

// blockValue is what {% set x %}...{% endset %} captures: the body's
// text, when the template fixes it.
func (a *templateAnalysis) blockValue(b binding) tval {
	v := tstr("")
	for _, n := range b.body {
		out, ok := n.(*jinja.Output)
		if !ok {
			return tval{taint: true}
		}
		for _, x := range out.Nodes {
			switch x := x.(type) {
			case *jinja.TemplateData:
				v = lift2(v, tstr(x.Data), concat2)
			case jinja.Expr:
				v = lift2(v, a.value(x), concat2)
			}
		}
	}
	if !v.known() && v.alts == nil {
		return tval{taint: true}
	}
	if b.filter != nil {
		v = a.filterChain(b.filter, v)
	}
	return v
}

// filterChain applies a block's filters (its innermost Node is nil).
func (a *templateAnalysis) filterChain(f *jinja.Filter, v tval) tval {
	if inner, ok := f.Node.(*jinja.Filter); ok {
		v = a.filterChain(inner, v)
	}
	return a.filter(f, v)
}

// hasString reports whether an expression holds a string literal.
func hasString(e jinja.Expr) bool {
	found := false
	jinja.Walk(e, func(n jinja.Node) bool {
		if c, ok := n.(*jinja.Const); ok {
			if _, ok := c.Value.(string); ok {
				found = true
			}
		}
		return !found
	})
	return found
}

// isComputed reports a key whose value only rendering knows.
func isComputed(key tval) bool {
	if key.alts != nil {
		return slices.ContainsFunc(key.alts, isComputed)
	}
	return !key.known()
}

// reached records a name reached through a subscript, |attr or the like:
// folded, allowed when fromContext says the name is the rendering
// context's data, not the template's strings, or else dynamic.
func (a *templateAnalysis) reached(key tval, fromContext bool, how string) {
	switch {
	case key.alts != nil:
		for _, k := range key.alts {
			a.reached(k, fromContext, how)
		}
	case key.str != nil:
		a.reach.names = append(a.reach.names, *key.str)
	case key.num != nil, key.isList, key.other:
	case fromContext && !key.taint:
		// message[key] in a loop over a message's keys.
	default:
		a.reach.dynamic = append(a.reach.dynamic, how+" with a name computed at render time")
	}
}

// reachedPath records the dotted attribute path a filter's attribute
// argument names (map(attribute='a.b'), sort(attribute='x')).
func (a *templateAnalysis) reachedPath(v tval, how string) {
	if v.str == nil {
		a.reached(v, false, how)
		return
	}
	for seg := range strings.SplitSeq(*v.str, ".") {
		a.reach.names = append(a.reach.names, seg)
	}
}

func (a *templateAnalysis) keywords(ks []jinja.Keyword) map[string]tval {
	out := map[string]tval{}
	for _, k := range ks {
		out[k.Key] = a.eval(k.Value)
		a.reach.consts = append(a.reach.consts, k.Key) // dict(__class__=1)
	}
	return out
}

func (a *templateAnalysis) call(e *jinja.Call) tval {
	f := a.eval(e.Node)
	args := a.evalAll(e.Args)
	a.keywords(e.Kwargs)
	if e.DynArgs != nil || e.DynKwargs != nil {
		a.evalOpt(e.DynArgs)
		a.evalOpt(e.DynKwargs)
	}
	switch {
	case f.recv != nil:
		return mapAlts(*f.recv, func(recv tval) tval {
			if (f.method == "format" || f.method == "format_map") && recv.str != nil {
				a.formatFields(*recv.str)
			}
			return method(recv, f.method, args)
		})
	case f.method == "format" || f.method == "format_map":
		// str.format reaches the attributes and items its fields name:
		// '{0.__class__}'.format(x). A format string the analysis cannot
		// read may name any.
		a.reach.dynamic = append(a.reach.dynamic, "str."+f.method+" of a format string computed at render time")
	}
	if n, ok := e.Node.(*jinja.Name); ok && len(a.bindings[n.Name]) == 0 {
		switch n.Name {
		case "getattr":
			if len(args) >= 2 {
				a.reached(args[1], false, "getattr")
			}
		case "namespace", "dict":
			// Their keywords are the attributes and items they hold.
			if e.DynArgs == nil && e.DynKwargs == nil && len(e.Args) == 0 {
				d := tval{other: true, taint: hasString(e), dict: map[string]tval{}}
				for _, kw := range e.Kwargs {
					d.dict[kw.Key] = a.valueOf(kw.Value)
				}
				return d
			}
		}
	}
	return tval{}
}

// allConst reports alternatives that are all constant strings or lists.
func allConst(vs []tval) bool {
	for _, v := range vs {
		if v.str == nil && !v.isList {
			return false
		}
	}
	return true
}

// mapAlts applies f to a value, or to each of its alternatives.
func mapAlts(v tval, f func(tval) tval) tval {
	if v.alts == nil {
		return f(v)
	}
	out := make([]tval, len(v.alts))
	for i, x := range v.alts {
		out[i] = f(x)
	}
	return alternatives(out...)
}

// lift2 applies f to two values, alternative by alternative.
func lift2(l, r tval, f func(l, r tval) tval) tval {
	if l.alts == nil && r.alts == nil {
		return f(l, r)
	}
	ls, rs := []tval{l}, []tval{r}
	if l.alts != nil {
		ls = l.alts
	}
	if r.alts != nil {
		rs = r.alts
	}
	if len(ls)*len(rs) > maxAlts {
		return tval{taint: true}
	}
	var out []tval
	for _, x := range ls {
		for _, y := range rs {
			out = append(out, f(x, y))
		}
	}
	return alternatives(out...)
}

// concat2 is a ~ b.
func concat2(l, r tval) tval {
	a, ok1 := l.text()
	b, ok2 := r.text()
	if !ok1 || !ok2 {
		return tval{}
	}
	return tstr(a + b)
}

// formatFields records what a str.format string's fields reach:
// {0.__class__}, {x[__globals__]}, {0.a.b[c]}.
func (a *templateAnalysis) formatFields(f string) {
	for i := 0; i < len(f); i++ {
		if f[i] != '{' {
			continue
		}
		if i+1 < len(f) && f[i+1] == '{' {
			i++
			continue
		}
		end := strings.IndexAny(f[i:], "}!:")
		if end < 0 {
			return
		}
		for _, m := range formatAccess.FindAllStringSubmatch(f[i+1:i+end], -1) {
			a.reach.names = append(a.reach.names, m[1]+m[2])
		}
		i += end
	}
}

var formatAccess = regexp.MustCompile(`\.([^.\[]*)|\[([^\]]*)\]`)

// filterAttribute is the position of the argument that names an
// attribute path, for the filters that take one.
var filterAttribute = map[string]int{"groupby": 0, "sum": 0, "sort": 2, "unique": 1, "min": 1, "max": 1, "join": 1,
	"selectattr": 0, "rejectattr": 0}

// filter applies a filter to v: it records the attributes the filter
// reaches and folds the ones that build strings.
func (a *templateAnalysis) filter(f *jinja.Filter, v tval) tval {
	args := a.evalAll(f.Args)
	kw := a.keywords(f.Kwargs)
	if f.DynArgs != nil || f.DynKwargs != nil {
		a.evalOpt(f.DynArgs)
		a.evalOpt(f.DynKwargs)
		a.reach.dynamic = append(a.reach.dynamic, "filter "+f.Name+" with unpacked arguments")
	}
	if at, ok := kw["attribute"]; ok {
		a.reachedPath(at, "filter "+f.Name+"(attribute=)")
	}
	if i, ok := filterAttribute[f.Name]; ok && i < len(args) {
		a.reachedPath(args[i], "filter "+f.Name)
	}
	switch f.Name {
	case "attr":
		if len(args) > 0 {
			a.reached(args[0], false, "filter attr")
		}
		return tval{}
	case "map", "select", "reject", "selectattr", "rejectattr":
		// map('attr', name) applies attr to each item; a filter or test
		// name computed at render time may be attr too.
		first := 0
		if f.Name == "selectattr" || f.Name == "rejectattr" {
			first = 1
		}
		if first < len(args) {
			switch name := args[first]; {
			case name.str != nil && *name.str == "attr":
				if first+1 < len(args) {
					a.reached(args[first+1], false, "filter "+f.Name+"('attr')")
				}
			case name.str == nil:
				a.reached(name, false, "filter "+f.Name+" by a filter name")
			}
		}
		return tval{}
	}
	return applyFilter(f.Name, v, args, kw)
}

// applyFilter folds the filters that make strings from constants.
func applyFilter(name string, v tval, args []tval, kw map[string]tval) tval {
	switch name {
	case "reverse":
		switch {
		case v.str != nil:
			r := []rune(*v.str)
			slices.Reverse(r)
			return tstr(string(r))
		case v.isList:
			l := slices.Clone(v.list)
			slices.Reverse(l)
			return tval{isList: true, list: l}
		}
	case "lower", "upper", "trim", "capitalize", "title", "string":
		if name == "trim" && len(args) > 0 {
			chars, ok := args[0].text()
			if v.str == nil || !ok {
				return tval{}
			}
			return tstr(strings.Trim(*v.str, chars))
		}
		if name == "string" {
			if t, ok := v.text(); ok {
				return tstr(t)
			}
			return tval{}
		}
		if name == "trim" {
			name = "strip"
		}
		return method(v, name, nil)
	case "replace":
		return method(v, "replace", args)
	case "join":
		if _, ok := kw["attribute"]; ok || len(args) > 1 {
			return tval{}
		}
		sep := tstr("")
		if len(args) > 0 {
			sep = args[0]
		} else if d, ok := kw["d"]; ok {
			sep = d
		}
		if v.str != nil {
			v = itemsOf(v)
		}
		return method(sep, "join", []tval{v})
	case "format":
		if v.str != nil {
			return percentFormat(*v.str, args)
		}
	case "first", "last":
		items := itemsOf(v)
		if items.isList && len(items.list) > 0 {
			if name == "first" {
				return items.list[0]
			}
			return items.list[len(items.list)-1]
		}
	case "list":
		return itemsOf(v)
	case "default", "d":
		if v.known() {
			return v
		}
		if len(args) > 0 {
			return alternatives(v, args[0])
		}
	}
	return tval{}
}

// itemsOf is a constant as a list: a string's characters.
func itemsOf(v tval) tval {
	switch {
	case v.isList:
		return v
	case v.str != nil:
		l := tval{isList: true}
		for _, r := range *v.str {
			l.list = append(l.list, tstr(string(r)))
		}
		return l
	}
	return tval{}
}

// method folds the string methods templates use to build names.
func method(recv tval, name string, args []tval) tval {
	if recv.str == nil {
		return tval{}
	}
	s := *recv.str
	argText := func(i int) (string, bool) {
		if i < len(args) {
			return args[i].text()
		}
		return "", false
	}
	switch name {
	case "join":
		if len(args) != 1 || !args[0].isList {
			return tval{}
		}
		var parts []string
		for _, e := range args[0].list {
			if e.str == nil {
				return tval{}
			}
			parts = append(parts, *e.str)
		}
		return tstr(strings.Join(parts, s))
	case "format":
		return pyFormat(s, args)
	case "replace":
		old, ok1 := argText(0)
		repl, ok2 := argText(1)
		if !ok1 || !ok2 || len(args) > 2 {
			return tval{}
		}
		return tstr(strings.ReplaceAll(s, old, repl))
	case "upper":
		return tstr(strings.ToUpper(s))
	case "lower":
		return tstr(strings.ToLower(s))
	case "capitalize":
		if s == "" {
			return recv
		}
		r := []rune(strings.ToLower(s))
		return tstr(strings.ToUpper(string(r[0])) + string(r[1:]))
	case "title":
		return tval{}
	case "swapcase":
		return tstr(strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z':
				return r - 32
			case r >= 'A' && r <= 'Z':
				return r + 32
			}
			return r
		}, s))
	case "strip", "lstrip", "rstrip":
		cut := strings.TrimSpace
		chars, ok := argText(0)
		switch {
		case len(args) > 0 && ok:
			cut = func(x string) string {
				switch name {
				case "lstrip":
					return strings.TrimLeft(x, chars)
				case "rstrip":
					return strings.TrimRight(x, chars)
				}
				return strings.Trim(x, chars)
			}
		case len(args) > 0:
			return tval{}
		case name == "lstrip":
			cut = func(x string) string { return strings.TrimLeft(x, " \t\n\r\v\f") }
		case name == "rstrip":
			cut = func(x string) string { return strings.TrimRight(x, " \t\n\r\v\f") }
		}
		return tstr(cut(s))
	case "split":
		var parts []string
		switch sep, ok := argText(0); {
		case len(args) == 0:
			parts = strings.Fields(s)
		case ok && sep != "" && len(args) == 1:
			parts = strings.Split(s, sep)
		default:
			return tval{}
		}
		l := tval{isList: true}
		for _, p := range parts {
			l.list = append(l.list, tstr(p))
		}
		return l
	}
	return tval{}
}

// pyFormat folds '{}{}'.format(...) with positional fields.
func pyFormat(f string, args []tval) tval {
	var b strings.Builder
	next := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{':
			end := strings.IndexByte(f[i:], '}')
			if end < 0 {
				return tval{}
			}
			field := f[i+1 : i+end]
			idx := next
			if field != "" {
				n, err := strconv.Atoi(field)
				if err != nil {
					return tval{}
				}
				idx = n
			} else {
				next++
			}
			if idx >= len(args) {
				return tval{}
			}
			t, ok := args[idx].text()
			if !ok {
				return tval{}
			}
			b.WriteString(t)
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return tstr(b.String())
}

// fold folds + - * and % on constants: concatenation, repetition and
// %-formatting, which can build a name ('%c%c' % (95, 95)).
func fold(op string, l, r tval) tval {
	switch op {
	case "+":
		switch {
		case l.str != nil && r.str != nil:
			return tstr(*l.str + *r.str)
		case l.num != nil && r.num != nil:
			return tint(*l.num + *r.num)
		case l.isList && r.isList:
			return tval{isList: true, list: append(slices.Clone(l.list), r.list...)}
		}
	case "-":
		if l.num != nil && r.num != nil {
			return tint(*l.num - *r.num)
		}
	case "*":
		if r.str != nil && l.num != nil {
			l, r = r, l
		}
		switch {
		case l.str != nil && r.num != nil:
			if *r.num <= 0 {
				return tstr("")
			}
			if int64(len(*l.str))*min(*r.num, math.MaxInt32) > maxFold {
				return tval{taint: true}
			}
			return tstr(strings.Repeat(*l.str, int(*r.num)))
		case l.num != nil && r.num != nil:
			return tint(*l.num * *r.num)
		}
	case "%":
		if l.str != nil {
			args := []tval{r}
			if r.isList {
				args = r.list
			}
			return percentFormat(*l.str, args)
		}
	}
	if l.known() && r.known() {
		return tval{other: true}
	}
	return tval{}
}

// percentFormat folds %s, %d and %c.
func percentFormat(f string, args []tval) tval {
	var b strings.Builder
	k := 0
	for i := 0; i < len(f); i++ {
		if f[i] != '%' {
			b.WriteByte(f[i])
			continue
		}
		i++
		if i >= len(f) {
			return tval{}
		}
		if f[i] == '%' {
			b.WriteByte('%')
			continue
		}
		if k >= len(args) {
			return tval{}
		}
		arg := args[k]
		k++
		switch f[i] {
		case 's':
			t, ok := arg.text()
			if !ok {
				return tval{}
			}
			b.WriteString(t)
		case 'd':
			if arg.num == nil {
				return tval{}
			}
			b.WriteString(strconv.FormatInt(*arg.num, 10))
		case 'c':
			switch {
			case arg.num != nil && *arg.num >= 0 && *arg.num <= 0x10FFFF:
				b.WriteRune(rune(*arg.num))
			case arg.str != nil && len([]rune(*arg.str)) == 1:
				b.WriteString(*arg.str)
			default:
				return tval{}
			}
		default:
			return tval{}
		}
	}
	if k != len(args) {
		return tval{}
	}
	return tstr(b.String())
}

// indexOf folds s[i], l[i] and d[k] on constants.
func indexOf(v, key tval) tval {
	if key.str != nil && v.dict != nil {
		if item, ok := v.dict[*key.str]; ok {
			return item
		}
	}
	if key.num == nil {
		return tval{}
	}
	i := *key.num
	switch {
	case v.str != nil:
		r := []rune(*v.str)
		if i < 0 {
			i += int64(len(r))
		}
		if i >= 0 && i < int64(len(r)) {
			return tstr(string(r[i]))
		}
	case v.isList:
		if i < 0 {
			i += int64(len(v.list))
		}
		if i >= 0 && i < int64(len(v.list)) {
			return v.list[i]
		}
	}
	return tval{}
}

// sliceOf folds s[a:b:c] on a constant string or list.
func sliceOf(v, start, stop, step tval) tval {
	items := itemsOf(v)
	if !items.isList {
		return tval{}
	}
	n := int64(len(items.list))
	get := func(x tval, def int64) (int64, bool) {
		switch {
		case x.num != nil:
			return *x.num, true
		case x.other: // None, or left out
			return def, true
		}
		return 0, false
	}
	st, ok := get(step, 1)
	if !ok || st == 0 {
		return tval{}
	}
	var lo, hi int64
	if st > 0 {
		lo, hi = 0, n
	} else {
		lo, hi = n-1, -1
	}
	a, ok1 := get(start, lo)
	b, ok2 := get(stop, hi)
	if !ok1 || !ok2 {
		return tval{}
	}
	clamp := func(i int64, given bool, lower, upper int64) int64 {
		if !given {
			return i
		}
		if i < 0 {
			i += n
		}
		return max(lower, min(upper, i))
	}
	var out []tval
	if st > 0 {
		a, b = clamp(a, start.num != nil, 0, n), clamp(b, stop.num != nil, 0, n)
		for i := a; i < b; i += st {
			out = append(out, items.list[i])
		}
	} else {
		a, b = clamp(a, start.num != nil, -1, n-1), clamp(b, stop.num != nil, -1, n-1)
		for i := a; i > b; i += st {
			out = append(out, items.list[i])
		}
	}
	if v.str != nil {
		var s strings.Builder
		for _, x := range out {
			s.WriteString(*x.str)
		}
		return tstr(s.String())
	}
	return tval{isList: true, list: out}
}
