package layout

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/modelgate/modelgate/"

// libraries must not import the packages in edges: an auditor's `audit
// verify`, or a program embedding the guards or a scanner, must not pull
// in the proxy, the admin API or the configuration file.
var (
	libraries = []string{"audit/...", "guard/...", "finding/...", "modelscan/...", "signing/...",
		"datacheck/...", "policy/...", "registry/...", "store/...", "access/..."}
	edges = []string{"gateway", "server", "admin", "config", "cmd", "demo", "bench"}
)

func TestLibrariesDoNotImportEdges(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH; it lists the imports")
	}
	touchSources(t)
	for _, lib := range libraries {
		out, err := exec.Command("go", "list", "-deps", "-test=false", "../../"+lib).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", lib, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			rest, ok := strings.CutPrefix(dep, module)
			if !ok {
				continue
			}
			for _, e := range edges {
				if rest == e || strings.HasPrefix(rest, e+"/") {
					t.Errorf("%s imports %s: a library must not depend on the %s edge", lib, dep, e)
				}
			}
		}
	}
}

// touchSources opens every Go file of the module, so that go test's cache,
// which tracks the files a test opens, reruns this test whenever an import
// may have changed (it cannot see what go list reads).
func touchSources(t *testing.T) {
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != "../..") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			f.Close()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
