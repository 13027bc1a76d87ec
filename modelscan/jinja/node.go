// Package jinja parses Jinja templates as jinja2 3.1 does, into a syntax
// tree that analyses can walk without rendering anything.
//
// It reads what jinja2's Environment reads with the default delimiters
// and the extensions chat templates are written for (loop controls,
// expression statements and Hugging Face's generation block): the same
// texts parse, into the same trees, and the same texts fail. Nothing
// here evaluates a template; that is what makes it safe to point at one
// an attacker wrote.
//
// Jinja has no maintained Go implementation faithful to jinja2's lexer
// and grammar, which is what a scanner needs: a template that jinja2
// accepts and the scanner cannot read is one the scanner cannot judge.
// The differential tests in modelscan check this package against jinja2.
package jinja

// Node is a statement or an expression of a template.
type Node interface{ node() }

// Expr is an expression node.
type Expr interface {
	Node
	expr()
}

// Statements.
type (
	// Output writes its nodes: TemplateData and expressions.
	Output struct{ Nodes []Node }
	// TemplateData is text outside tags.
	TemplateData struct{ Data string }
	// For is {% for Target in Iter if Test %}Body{% else %}Else{% endfor %}.
	For struct {
		Target, Iter, Test Expr
		Body, Else         []Node
		Recursive          bool
	}
	// If is {% if %}, its elifs and else.
	If struct {
		Test       Expr
		Body, Else []Node
		Elif       []*If
	}
	// Assign is {% set Target = Value %}.
	Assign struct{ Target, Value Expr }
	// AssignBlock is {% set Target | Filter %}Body{% endset %}.
	AssignBlock struct {
		Target Expr
		Filter *Filter // nil without a filter
		Body   []Node
	}
	// Macro is {% macro Name(Args) %}Body{% endmacro %}.
	Macro struct {
		Name     string
		Args     []*Name
		Defaults []Expr
		Body     []Node
	}
	// CallBlock is {% call(Args) Call %}Body{% endcall %}.
	CallBlock struct {
		Call     *Call
		Args     []*Name
		Defaults []Expr
		Body     []Node
	}
	// FilterBlock is {% filter Filter %}Body{% endfilter %}.
	FilterBlock struct {
		Filter *Filter // its Node is nil: the body is filtered
		Body   []Node
	}
	// With is {% with Targets = Values %}Body{% endwith %}.
	With struct {
		Targets, Values []Expr
		Body            []Node
	}
	// Block is {% block Name %}Body{% endblock %}.
	Block struct {
		Name             string
		Body             []Node
		Scoped, Required bool
	}
	// Extends, Include and Import name another template.
	Extends struct{ Template Expr }
	Include struct {
		Template                   Expr
		IgnoreMissing, WithContext bool
	}
	Import struct {
		Template    Expr
		Target      string
		WithContext bool
	}
	// FromImport is {% from Template import Names %}; each name is
	// [name, alias].
	FromImport struct {
		Template    Expr
		Names       [][2]string
		WithContext bool
	}
	// Scope is {% autoescape Value %}Body{% endautoescape %}.
	Scope struct {
		Value Expr
		Body  []Node
	}
	// ExprStmt is {% do Node %}.
	ExprStmt struct{ Node Expr }
	// Break and Continue are loop controls.
	Break    struct{}
	Continue struct{}
	// Generation is Hugging Face's {% generation %}Body{% endgeneration %}.
	Generation struct{ Body []Node }
)

// Expressions.
type (
	// Name is a variable.
	Name struct{ Name string }
	// NSRef is a namespace attribute assigned to: {% set ns.attr = ... %}.
	NSRef struct{ Name, Attr string }
	// Const is a literal: a string, an Int, a float64, a bool or nil.
	Const struct{ Value any }
	// Tuple and List hold items.
	Tuple struct{ Items []Expr }
	List  struct{ Items []Expr }
	// Dict is {Keys[i]: Values[i], ...}.
	Dict struct{ Keys, Values []Expr }
	// Getattr is Node.Attr.
	Getattr struct {
		Node Expr
		Attr string
	}
	// Getitem is Node[Arg]; Node.0 is Getitem with an Int.
	Getitem struct{ Node, Arg Expr }
	// Slice is start:stop:step in a subscript; parts left out are nil.
	Slice struct{ Start, Stop, Step Expr }
	// Call is Node(Args, Kwargs, *DynArgs, **DynKwargs).
	Call struct {
		Node               Expr
		Args               []Expr
		Kwargs             []Keyword
		DynArgs, DynKwargs Expr
	}
	// Filter is Node|Name(Args...). Node is nil in a filter block.
	Filter struct {
		Node               Expr
		Name               string
		Args               []Expr
		Kwargs             []Keyword
		DynArgs, DynKwargs Expr
	}
	// Test is Node is Name(Args...).
	Test struct {
		Node               Expr
		Name               string
		Args               []Expr
		Kwargs             []Keyword
		DynArgs, DynKwargs Expr
	}
	// BinOp is Left Op Right for + - * / // % ** and or.
	BinOp struct {
		Op          string
		Left, Right Expr
	}
	// Concat is Items joined with ~.
	Concat struct{ Items []Expr }
	// Unary is Op Node for - + not.
	Unary struct {
		Op   string
		Node Expr
	}
	// Compare is Left followed by comparisons.
	Compare struct {
		Left Expr
		Ops  []Operand
	}
	// CondExpr is Expr1 if Test else Expr2; Expr2 may be nil.
	CondExpr struct{ Test, Expr1, Expr2 Expr }
)

// Keyword is a keyword argument.
type Keyword struct {
	Key   string
	Value Expr
}

// Operand is one comparison: eq ne lt lteq gt gteq in notin.
type Operand struct {
	Op   string
	Expr Expr
}

// Int is an integer literal: its decimal digits, exact whatever its size.
type Int string

func (*Output) node()       {}
func (*TemplateData) node() {}
func (*For) node()          {}
func (*If) node()           {}
func (*Assign) node()       {}
func (*AssignBlock) node()  {}
func (*Macro) node()        {}
func (*CallBlock) node()    {}
func (*FilterBlock) node()  {}
func (*With) node()         {}
func (*Block) node()        {}
func (*Extends) node()      {}
func (*Include) node()      {}
func (*Import) node()       {}
func (*FromImport) node()   {}
func (*Scope) node()        {}
func (*ExprStmt) node()     {}
func (*Break) node()        {}
func (*Continue) node()     {}
func (*Generation) node()   {}

func (*Name) node()     {}
func (*NSRef) node()    {}
func (*Const) node()    {}
func (*Tuple) node()    {}
func (*List) node()     {}
func (*Dict) node()     {}
func (*Getattr) node()  {}
func (*Getitem) node()  {}
func (*Slice) node()    {}
func (*Call) node()     {}
func (*Filter) node()   {}
func (*Test) node()     {}
func (*BinOp) node()    {}
func (*Concat) node()   {}
func (*Unary) node()    {}
func (*Compare) node()  {}
func (*CondExpr) node() {}

func (*Name) expr()     {}
func (*NSRef) expr()    {}
func (*Const) expr()    {}
func (*Tuple) expr()    {}
func (*List) expr()     {}
func (*Dict) expr()     {}
func (*Getattr) expr()  {}
func (*Getitem) expr()  {}
func (*Slice) expr()    {}
func (*Call) expr()     {}
func (*Filter) expr()   {}
func (*Test) expr()     {}
func (*BinOp) expr()    {}
func (*Concat) expr()   {}
func (*Unary) expr()    {}
func (*Compare) expr()  {}
func (*CondExpr) expr() {}

// Walk calls f for n and, while f returns true, for each node under it,
// depth first.
func Walk(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	each := func(ns ...Node) {
		for _, c := range ns {
			if c != nil {
				Walk(c, f)
			}
		}
	}
	switch n := n.(type) {
	case *Output:
		each(n.Nodes...)
	case *For:
		each(n.Target, n.Iter, n.Test)
		each(n.Body...)
		each(n.Else...)
	case *If:
		each(n.Test)
		each(n.Body...)
		for _, e := range n.Elif {
			each(e)
		}
		each(n.Else...)
	case *Assign:
		each(n.Target, n.Value)
	case *AssignBlock:
		each(n.Target)
		if n.Filter != nil {
			each(n.Filter)
		}
		each(n.Body...)
	case *Macro:
		each(exprs(n.Defaults)...)
		each(n.Body...)
	case *CallBlock:
		each(n.Call)
		each(exprs(n.Defaults)...)
		each(n.Body...)
	case *FilterBlock:
		each(n.Filter)
		each(n.Body...)
	case *With:
		each(exprs(n.Targets)...)
		each(exprs(n.Values)...)
		each(n.Body...)
	case *Block:
		each(n.Body...)
	case *Extends:
		each(n.Template)
	case *Include:
		each(n.Template)
	case *Import:
		each(n.Template)
	case *FromImport:
		each(n.Template)
	case *Scope:
		each(n.Value)
		each(n.Body...)
	case *ExprStmt:
		each(n.Node)
	case *Generation:
		each(n.Body...)
	case *Tuple:
		each(exprs(n.Items)...)
	case *List:
		each(exprs(n.Items)...)
	case *Dict:
		each(exprs(n.Keys)...)
		each(exprs(n.Values)...)
	case *Getattr:
		each(n.Node)
	case *Getitem:
		each(n.Node, n.Arg)
	case *Slice:
		each(n.Start, n.Stop, n.Step)
	case *Call:
		each(n.Node)
		each(exprs(n.Args)...)
		each(keywords(n.Kwargs)...)
		each(n.DynArgs, n.DynKwargs)
	case *Filter:
		each(n.Node)
		each(exprs(n.Args)...)
		each(keywords(n.Kwargs)...)
		each(n.DynArgs, n.DynKwargs)
	case *Test:
		each(n.Node)
		each(exprs(n.Args)...)
		each(keywords(n.Kwargs)...)
		each(n.DynArgs, n.DynKwargs)
	case *BinOp:
		each(n.Left, n.Right)
	case *Concat:
		each(exprs(n.Items)...)
	case *Unary:
		each(n.Node)
	case *Compare:
		each(n.Left)
		for _, o := range n.Ops {
			each(o.Expr)
		}
	case *CondExpr:
		each(n.Test, n.Expr1, n.Expr2)
	}
}

func exprs(es []Expr) []Node {
	out := make([]Node, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func keywords(ks []Keyword) []Node {
	out := make([]Node, len(ks))
	for i, k := range ks {
		out[i] = k.Value
	}
	return out
}
