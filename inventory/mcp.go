package inventory

import (
	"encoding/json"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/modelgate/modelgate/finding"
)

// mcpServer is one server of an MCP client's configuration, in the shapes
// the clients write: Claude Desktop, Cursor, Windsurf and Cline
// (mcpServers), VS Code (servers, or mcp.servers in settings), Zed
// (context_servers, whose command may be an object).
type mcpServer struct {
	Type      string            `json:"type"`
	Command   json.RawMessage   `json:"command"`
	Args      []string          `json:"args"`
	Env       map[string]string `json:"env"`
	URL       string            `json:"url"`
	ServerURL string            `json:"serverUrl"` // Windsurf
	Headers   map[string]string `json:"headers"`
}

// mcpConfig records the servers of an MCP client configuration; it
// reports whether the text was one.
func (sn *sniffer) mcpConfig(f *file, b []byte) bool {
	var doc map[string]json.RawMessage
	if json.Unmarshal(stripJSONC(b), &doc) != nil {
		return false
	}
	var servers json.RawMessage
	switch {
	case doc["mcpServers"] != nil:
		servers = doc["mcpServers"]
	case doc["context_servers"] != nil:
		servers = doc["context_servers"]
	case doc["servers"] != nil && strings.EqualFold(f.name, "mcp.json"):
		servers = doc["servers"]
	case doc["mcp"] != nil:
		var m struct {
			Servers json.RawMessage `json:"servers"`
		}
		if json.Unmarshal(doc["mcp"], &m) == nil {
			servers = m.Servers
		}
	}
	var byName map[string]mcpServer
	if servers == nil || json.Unmarshal(servers, &byName) != nil || len(byName) == 0 {
		return false
	}
	client := mcpClient(f.path)
	for name, s := range byName {
		a := Asset{Kind: KindMCP, Path: f.path, Name: name, Format: "mcp-config"}
		a.attr("client", client)
		s.describe(&a)
		sn.add(a)
	}
	return true
}

// mcpClient names the client a configuration belongs to, from where
// clients keep it.
func mcpClient(path string) string {
	p := filepath.ToSlash(strings.ToLower(path))
	switch {
	case strings.Contains(p, "/.cursor/"):
		return "cursor"
	case strings.Contains(p, "/.vscode/"), strings.Contains(p, "/code/user/"):
		return "vscode"
	case strings.HasSuffix(p, "claude_desktop_config.json"):
		return "claude-desktop"
	case strings.HasSuffix(p, "/.claude.json"), strings.HasSuffix(p, "/.mcp.json"):
		return "claude-code"
	case strings.Contains(p, "windsurf"), strings.Contains(p, "/.codeium/"):
		return "windsurf"
	case strings.Contains(p, "/zed/"):
		return "zed"
	}
	return ""
}

var (
	// placeholder is a value filled in at run time: ${env:X}, ${input:x},
	// $X, <your key>.
	placeholder = regexp.MustCompile(`^\s*(?:\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|<[^>]*>|\{\{[^}]*\}\})\s*$`)
	secretName  = regexp.MustCompile(`(?i)(?:key|token|secret|password|passwd|credential|auth)`)
	// pinnedPackage is a package argument with a version: name@1.2.3,
	// @scope/name@1.2.3, name==1.2.3, image@sha256:…
	pinnedPackage = regexp.MustCompile(`(?:^@?[^@\s]+@\d[\w.+-]*$|==\d|@sha256:[0-9a-f]{64}$)`)
)

func (s mcpServer) describe(a *Asset) {
	var cmd string
	args := s.Args
	if json.Unmarshal(s.Command, &cmd) != nil {
		var z struct {
			Path string   `json:"path"`
			Args []string `json:"args"`
		}
		if json.Unmarshal(s.Command, &z) == nil {
			cmd, args = z.Path, z.Args
		}
	}
	u := s.URL
	if u == "" {
		u = s.ServerURL
	}
	transport := s.Type
	if transport == "" {
		transport = "stdio"
		if u != "" {
			transport = "http"
		}
	}
	a.attr("transport", transport)
	a.attr("command", cmd)
	a.attr("url", u)
	pkg, runner := mcpPackage(cmd, args)
	a.attr("package", pkg)
	if pkg != "" && !pinnedPackage.MatchString(pkg) {
		a.Findings = append(a.Findings, finding.Finding{RuleID: "INV-MCP-UNPINNED", Severity: finding.Medium,
			Title: "MCP server runs an unpinned package", Location: "server " + a.Name, Evidence: runner + " " + pkg,
			Remediation: "pin the package to a version (name@1.2.3, name==1.2.3) or an image digest, and review updates",
			References:  []string{"LLM03", "AML.T0010"}})
	}
	if pu, err := url.Parse(u); err == nil && pu.Scheme == "http" && !loopback(pu.Hostname()) {
		a.Findings = append(a.Findings, finding.Finding{RuleID: "INV-MCP-PLAINTEXT", Severity: finding.Medium,
			Title: "MCP server reached over plain HTTP", Location: "server " + a.Name, Evidence: pu.Host,
			Remediation: "use https, so that tool calls and their credentials are not readable on the network",
			References:  []string{"CWE-319", "LLM06"}})
	}
	var inline []string
	for k, v := range s.Env {
		if secretName.MatchString(k) && strings.TrimSpace(v) != "" && !placeholder.MatchString(v) {
			inline = append(inline, "env "+k)
		}
	}
	for k, v := range s.Headers {
		if (strings.EqualFold(k, "authorization") || secretName.MatchString(k)) && !placeholder.MatchString(strings.TrimPrefix(v, "Bearer ")) {
			inline = append(inline, "header "+k)
		}
	}
	if len(inline) > 0 {
		slices.Sort(inline)
		a.Findings = append(a.Findings, finding.Finding{RuleID: "INV-MCP-SECRET", Severity: finding.High,
			Title: "MCP server configuration holds a credential inline", Location: "server " + a.Name,
			Evidence:    strings.Join(inline, ", ") + " (values not shown)",
			Remediation: "reference the credential (${env:NAME} or an input prompt) instead of writing it in the file, and rotate it",
			References:  refsKey})
	}
}

// mcpPackage finds the package a launcher fetches and runs: npx, bunx,
// pnpm dlx, uvx, pipx run, docker run.
func mcpPackage(cmd string, args []string) (pkg, runner string) {
	runner = filepath.Base(cmd)
	var rest []string
	switch runner {
	case "npx", "bunx", "uvx":
		rest = args
	case "pnpm", "yarn", "pipx":
		if len(args) > 0 && (args[0] == "dlx" || args[0] == "run") {
			rest = args[1:]
		}
	case "docker", "podman":
		if len(args) > 0 && args[0] == "run" {
			rest = args[1:]
		}
	default:
		return "", runner
	}
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if strings.HasPrefix(a, "-") {
			// Options that take a value: skip it too.
			switch a {
			case "-e", "--env", "-v", "--volume", "--name", "-p", "--publish", "--from", "--package", "-w", "--network", "--mount":
				i++
			}
			continue
		}
		return a, runner
	}
	return "", runner
}

func loopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// stripJSONC turns JSON with comments and trailing commas (what VS Code
// and Zed accept) into JSON.
func stripJSONC(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			out = append(out, c)
			if c == '\\' && i+1 < len(b) {
				i++
				out = append(out, b[i])
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			out = append(out, c)
		case c == '/' && i+1 < len(b) && b[i+1] == '/':
			for i < len(b) && b[i] != '\n' {
				i++
			}
			out = append(out, '\n')
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			i += 2
			for i+1 < len(b) && !(b[i] == '*' && b[i+1] == '/') {
				i++
			}
			i++
		case c == '}' || c == ']':
			// Drop a trailing comma before the close.
			j := len(out) - 1
			for j >= 0 && (out[j] == ' ' || out[j] == '\n' || out[j] == '\t' || out[j] == '\r') {
				j--
			}
			if j >= 0 && out[j] == ',' {
				out = append(out[:j], out[j+1:]...)
			}
			out = append(out, c)
		default:
			out = append(out, c)
		}
	}
	return out
}
