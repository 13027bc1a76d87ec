package posture

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// ParseDockerfile reads a Dockerfile with BuildKit's own parser (line
// continuations, heredocs, parser directives, JSON and shell forms as
// docker build reads them) into its build stages: each with its base
// image, name, and instructions in order. Instructions before the first
// FROM (global ARGs) are kept apart.
func ParseDockerfile(path string, b []byte) (Document, error) {
	res, err := parser.Parse(bytes.NewReader(b))
	if err != nil {
		return Document{}, fmt.Errorf("%s: %w", path, err)
	}
	var global []any
	var stages []any
	var cur map[string]any
	for _, n := range res.AST.Children {
		cmd := strings.ToLower(n.Value)
		var args []any
		for a := n.Next; a != nil; a = a.Next {
			args = append(args, a.Value)
		}
		flags := make([]any, len(n.Flags))
		for i, f := range n.Flags {
			flags[i] = f
		}
		ins := map[string]any{"cmd": cmd, "args": nonNil(args), "flags": flags, "line": n.StartLine,
			"json": n.Attributes["json"], "original": n.Original}
		if cmd == "from" {
			cur = map[string]any{"index": len(stages), "line": n.StartLine, "instructions": []any{}, "image": "", "name": ""}
			if len(args) > 0 {
				cur["image"] = args[0]
			}
			if len(args) >= 3 && strings.EqualFold(fmt.Sprint(args[1]), "as") {
				cur["name"] = strings.ToLower(fmt.Sprint(args[2]))
			}
			stages = append(stages, cur)
		}
		if cur == nil {
			global = append(global, ins)
			continue
		}
		cur["instructions"] = append(cur["instructions"].([]any), ins)
	}
	if len(stages) == 0 {
		return Document{}, fmt.Errorf("%s: no FROM instruction", path)
	}
	return Document{Kind: KindDockerfile, Path: path, Line: 1,
		Content: map[string]any{"stages": stages, "global": nonNil(global)}}, nil
}

func nonNil(v []any) []any {
	if v == nil {
		return []any{}
	}
	return v
}
