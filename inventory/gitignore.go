package inventory

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// ignoreFile is one .gitignore: its rules apply to paths under its
// directory. Written here rather than imported: the one maintained
// implementation (go-git's) brings the whole of go-git with it, and a
// walk needs only matching.
type ignoreFile struct {
	dir   string
	rules []ignoreRule
}

type ignoreRule struct {
	re      *regexp.Regexp
	negate  bool
	dirOnly bool
}

func readIgnoreFile(dir string) (*ignoreFile, error) {
	f, err := os.Open(filepath.Join(dir, ".gitignore"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ig := &ignoreFile{dir: dir}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if r, ok := parseIgnoreRule(sc.Text()); ok {
			ig.rules = append(ig.rules, r)
		}
	}
	return ig, sc.Err()
}

// parseIgnoreRule compiles one line of a .gitignore (gitignore(5)).
func parseIgnoreRule(line string) (ignoreRule, bool) {
	line = strings.TrimRight(line, " \t\r")
	if line == "" || line[0] == '#' {
		return ignoreRule{}, false
	}
	var r ignoreRule
	if line[0] == '!' {
		r.negate, line = true, line[1:]
	} else if line[0] == '\\' && len(line) > 1 && (line[1] == '#' || line[1] == '!') {
		line = line[1:]
	}
	if strings.HasSuffix(line, "/") {
		r.dirOnly, line = true, strings.TrimRight(line, "/")
	}
	if line == "" {
		return ignoreRule{}, false
	}
	// A pattern with a slash before its end is relative to the
	// .gitignore's directory; one without matches a name at any depth.
	anchored := strings.Contains(line, "/")
	line = strings.TrimPrefix(line, "/")
	var b strings.Builder
	b.WriteString("^")
	if !anchored {
		b.WriteString("(?:.*/)?")
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case strings.HasPrefix(line[i:], "**/"):
			b.WriteString("(?:.*/)?")
			i += 2
		case strings.HasPrefix(line[i:], "/**") && i+3 == len(line):
			b.WriteString("/.*")
			i += 2
		case strings.HasPrefix(line[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		case c == '[':
			end := strings.IndexByte(line[i+1:], ']')
			if end < 0 {
				b.WriteString(`\[`)
				continue
			}
			class := line[i+1 : i+1+end]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + strings.ReplaceAll(class, `\`, `\\`) + "]")
			i += end + 1
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteString(regexp.QuoteMeta(line[i : i+1]))
		default:
			b.WriteString(regexp.QuoteMeta(line[i : i+1]))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return ignoreRule{}, false // a malformed class: git ignores the line too
	}
	r.re = re
	return r, true
}

// ignored reports whether the .gitignore files that apply to a path
// (outermost first) ignore it: the last rule that matches decides.
func ignored(files []*ignoreFile, full string, isDir bool) bool {
	out := false
	for _, ig := range files {
		rel, err := filepath.Rel(ig.dir, full)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		for _, r := range ig.rules {
			if r.dirOnly && !isDir {
				continue
			}
			if r.re.MatchString(rel) {
				out = !r.negate
			}
		}
	}
	return out
}
