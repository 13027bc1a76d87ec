package posture

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// ParseTerraform reads a Terraform file's resource blocks: each with its
// type, name, line and attributes. An attribute that is a literal (or
// folds to one) is its value; one that refers to something else (a
// variable, another resource) is written {"ref": "aws_s3_bucket.models.id"}
// so that rules can join resources; nested blocks become lists of their
// bodies under the block's type.
func ParseTerraform(path string, b []byte) (Document, error) {
	f, diags := hclsyntax.ParseConfig(b, path, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return Document{}, fmt.Errorf("%s", diags.Error())
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return Document{}, fmt.Errorf("%s: not HCL native syntax", path)
	}
	resources := []any{}
	for _, blk := range body.Blocks {
		if blk.Type != "resource" || len(blk.Labels) != 2 {
			continue
		}
		resources = append(resources, map[string]any{"type": blk.Labels[0], "name": blk.Labels[1],
			"address": blk.Labels[0] + "." + blk.Labels[1], "line": blk.DefRange().Start.Line, "attrs": bodyValue(blk.Body, b)})
	}
	return Document{Kind: KindTerraform, Path: path, Line: 1, Content: map[string]any{"resources": resources}}, nil
}

func bodyValue(body *hclsyntax.Body, src []byte) map[string]any {
	out := map[string]any{}
	for name, attr := range body.Attributes {
		out[name] = exprValue(attr.Expr, src)
	}
	for _, blk := range body.Blocks {
		list, _ := out[blk.Type].([]any)
		out[blk.Type] = append(list, bodyValue(blk.Body, src))
	}
	return out
}

// exprValue evaluates an expression without variables: a literal, or a
// reference written as its source.
func exprValue(e hclsyntax.Expression, src []byte) any {
	if len(e.Variables()) == 0 {
		if v, diags := e.Value(nil); !diags.HasErrors() {
			return ctyValue(v)
		}
	}
	r := e.Range()
	text := ""
	if r.End.Byte <= len(src) && r.Start.Byte <= r.End.Byte {
		text = strings.TrimSpace(string(src[r.Start.Byte:r.End.Byte]))
	}
	return map[string]any{"ref": text}
}

func ctyValue(v cty.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t == cty.String:
		return v.AsString()
	case t == cty.Bool:
		return v.True()
	case t == cty.Number:
		f, _ := v.AsBigFloat().Float64()
		if i, acc := v.AsBigFloat().Int(nil); acc == big.Exact {
			return i.Int64()
		}
		return f
	case t.IsListType() || t.IsTupleType() || t.IsSetType():
		out := []any{}
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyValue(e))
		}
		return out
	case t.IsMapType() || t.IsObjectType():
		out := map[string]any{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyValue(e)
		}
		return out
	}
	return nil
}
