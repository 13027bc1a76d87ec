package deps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLocksAndInstalled(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"app/requirements.txt":                   "-r base.txt\n--constraint constraints/c.txt\ntorch==2.4.1 --hash=sha256:aa \\\n    --hash=sha256:bb\nrequests>=2.31 ; python_version >= \"3.9\"\n",
		"app/base.txt":                           "numpy==1.26.4\n-r base.txt\n", // includes itself: read once
		"app/constraints/c.txt":                  "urllib3<2\n",
		"app/poetry.lock":                        "[[package]]\nname = \"PyJWT\"\nversion = \"2.8.0\"\n\n[[package]]\nname = \"certifi\"\nversion = \"2024.2.2\"\n",
		"svc/uv.lock":                            "version = 1\n[[package]]\nname = \"svc\"\nsource = { editable = \".\" }\n[[package]]\nname = \"transformers\"\nversion = \"4.44.0\"\n",
		"svc/pylock.toml":                        "lock-version = \"1.0\"\n[[packages]]\nname = \"fastapi\"\nversion = \"0.115.0\"\n",
		"web/Pipfile.lock":                       `{"_meta": {}, "default": {"flask": {"version": "==3.0.3", "hashes": ["sha256:x"]}, "vcs": {"git": "https://x"}}, "develop": {"pytest": {"version": "==8.3.2"}}}`,
		"env/conda-meta/numpy-1.26.4-py311.json": `{"name": "numpy", "version": "1.26.4", "build": "py311"}`,
		"env/conda-meta/history":                 "not json",
		"venv/lib/python3.11/site-packages/Jinja2-3.1.4.dist-info/METADATA": "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.4\nSummary: x\n\nLong description\nName: not-this\n",
		"proj/pyproject.toml":             "[project]\nname = \"p\"\ndependencies = [\"httpx>=0.27\"]\n[tool.poetry.group.dev.dependencies]\nblack = \"^24.1\"\n[tool.pdm.dev-dependencies]\nlint = [\"ruff==0.6.0\"]\n[dependency-groups]\ntest = [\"pytest>=8\", {include-group = \"lint\"}]\n",
		"node_modules/x/requirements.txt": "ignored==1\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(body), 0o644)
	}
	found, err := Find([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Requirement{}
	for _, f := range found {
		for _, r := range f.Requirements {
			got[r.Name] = r
		}
	}
	want := map[string]string{
		"torch": "declared ==2.4.1 hashed", "numpy": "installed ==1.26.4", "urllib3": "declared <2", "requests": "declared >=2.31",
		"pyjwt": "locked ==2.8.0", "transformers": "locked ==4.44.0", "fastapi": "locked ==0.115.0 hashed",
		"flask": "locked ==3.0.3 hashed", "pytest": "locked ==8.3.2", "jinja2": "installed ==3.1.4",
		"httpx": "declared >=0.27", "black": "declared ^24.1", "ruff": "declared ==0.6.0", "certifi": "locked ==2024.2.2",
	}
	for name, w := range want {
		r, ok := got[name]
		desc := r.Kind + " " + r.Spec
		if r.Hashed {
			desc += " hashed"
		}
		if !ok || desc != w {
			t.Errorf("%s: %q, want %q", name, desc, w)
		}
	}
	if _, ok := got["ignored"]; ok {
		t.Error("node_modules was read")
	}
	if r := got["requests"]; r.Markers != `python_version >= "3.9"` {
		t.Errorf("markers %q", r.Markers)
	}
	if _, ok := got["svc"]; ok {
		t.Error("uv's editable project is a dependency")
	}
}

func TestPEP440(t *testing.T) {
	for spec, want := range map[string]string{
		"^1.2.3": ">=1.2.3,<2", "^0.2.3": ">=0.2.3,<0.3", "^0.0.3": ">=0.0.3,<0.0.4", "~1.2.3": ">=1.2.3,<1.3", "~1": ">=1,<2",
		"1.2.3": "==1.2.3", ">=1,<2": ">=1,<2", "*": "", "^24.1": ">=24.1,<25",
	} {
		if got, ok := (Requirement{Ecosystem: "pypi", Spec: spec}).PEP440(); !ok || got != want {
			t.Errorf("%s: %q, want %q", spec, got, want)
		}
	}
	for spec, want := range map[string]string{"=1.26": "==1.26", "=1.26.*": "==1.26.*", "==1.26.4=py311h": "==1.26.4", "1.26.4 py311_0": "==1.26.4", ">=1.20": ">=1.20"} {
		if got, ok := (Requirement{Ecosystem: "conda", Spec: spec}).PEP440(); !ok || got != want {
			t.Errorf("conda %s: %q, want %q", spec, got, want)
		}
	}
	if _, ok := (Requirement{Spec: "@ https://x/y.whl"}).PEP440(); ok {
		t.Error("a URL has a PEP 440 form")
	}
}

func TestFindErrorsName(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("-r missing.txt\n"), 0o644)
	if _, err := Find([]string{dir}); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("a missing include: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("ok==1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "poetry.lock"), []byte("[[package]\n"), 0o644)
	if _, err := Find([]string{dir}); err == nil || !strings.Contains(err.Error(), "poetry.lock") {
		t.Errorf("a broken lock: %v", err)
	}
}

func FuzzLocks(f *testing.F) {
	f.Add([]byte("[[package]]\nname = \"a\"\nversion = \"1\"\n"), uint8(0))
	f.Add([]byte(`{"default": {"a": {"version": "==1"}}}`), uint8(1))
	f.Add([]byte("Name: a\nVersion: 1\n\nbody"), uint8(2))
	f.Add([]byte(`{"name": "a", "version": "1"}`), uint8(3))
	parsers := []func(string, []byte) ([]Requirement, error){ParseTOMLLock, ParsePipfileLock, ParseMetadata, ParseCondaMeta}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		reqs, err := parsers[int(which)%len(parsers)]("f", b)
		if err != nil {
			return
		}
		for _, r := range reqs {
			r.PEP440()
		}
	})
}
