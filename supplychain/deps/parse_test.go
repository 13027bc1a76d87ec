package deps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRequirements(t *testing.T) {
	src := `# pinned
torch==2.4.1
Scikit_Learn == 1.5.2 ; python_version >= "3.9"
numpy[extra1,extra2]===1.26.4 --hash=sha256:abc
transformers>=4.40
accelerate==0.*
safetensors>=0.4,<0.5
requests ~= 2.31
-r other.txt
-e git+https://github.com/x/y.git#egg=y
--index-url https://pypi.example/simple
https://example.com/pkg.tar.gz
./local/path
mylib @ https://example.com/mylib-1.0.tar.gz
pandas\
==2.2.2
tokenizers  # no version at all
`
	reqs, err := ParseRequirements("requirements.txt", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		name    string
		pinned  bool
		version string
		line    string
	}
	wants := []want{
		{"torch", true, "2.4.1", "requirements.txt:2"},
		{"scikit-learn", true, "1.5.2", "requirements.txt:3"},
		{"numpy", true, "1.26.4", "requirements.txt:4"},
		{"transformers", false, "", "requirements.txt:5"},
		{"accelerate", false, "", "requirements.txt:6"},
		{"safetensors", false, "", "requirements.txt:7"},
		{"requests", false, "", "requirements.txt:8"},
		{"mylib", false, "", "requirements.txt:14"},
		{"pandas", true, "2.2.2", "requirements.txt:15"},
		{"tokenizers", false, "", "requirements.txt:17"},
	}
	if len(reqs) != len(wants) {
		t.Fatalf("got %d requirements, want %d: %+v", len(reqs), len(wants), reqs)
	}
	for i, w := range wants {
		r := reqs[i]
		if r.Name != w.name || r.Pinned != w.pinned || r.Version != w.version || r.Source != w.line {
			t.Errorf("requirement %d: got %+v, want %+v", i, r, w)
		}
	}
	if reqs[0].PURL() != "pkg:pypi/torch@2.4.1" || reqs[3].PURL() != "pkg:pypi/transformers" {
		t.Errorf("purls %s %s", reqs[0].PURL(), reqs[3].PURL())
	}
	if _, err := ParseRequirements("requirements.txt", []byte("torch==2.4\n==1.0\n")); err == nil || !strings.Contains(err.Error(), "requirements.txt:2") {
		t.Errorf("a broken line: %v", err)
	}
}

func TestParsePyproject(t *testing.T) {
	src := `
[project]
name = "fraud"
dependencies = ["torch==2.4.1", "numpy>=1.26"]

[project.optional-dependencies]
serve = ["fastapi==0.115.0"]

[tool.poetry.dependencies]
python = "^3.11"
pydantic = "2.9.2"
httpx = "^0.27"
uvicorn = {version = "0.30.6", extras = ["standard"]}
`
	reqs, err := ParsePyproject("pyproject.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range reqs {
		got[r.Name] = r.Pinned
	}
	want := map[string]bool{"torch": true, "numpy": false, "fastapi": true, "pydantic": true, "httpx": false, "uvicorn": true}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s pinned=%v, want %v", k, got[k], v)
		}
	}
	if _, err := ParsePyproject("pyproject.toml", []byte("[project\n")); err == nil || !strings.Contains(err.Error(), "pyproject.toml") {
		t.Errorf("broken TOML: %v", err)
	}
}

func TestParseEnvironment(t *testing.T) {
	src := `name: fraud
channels: [conda-forge]
dependencies:
  - python=3.11
  - numpy=1.26.4=py311_0
  - conda-forge::pandas==2.2.2
  - scipy
  - pytorch>=2.3
  - cudatoolkit=11.*
  - pip
  - pip:
      - transformers==4.44.2
      - datasets
      - --extra-index-url https://example.com
`
	reqs, err := ParseEnvironment("environment.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Requirement{}
	for _, r := range reqs {
		got[r.Ecosystem+"/"+r.Name] = r
	}
	for name, pinned := range map[string]bool{"conda/python": true, "conda/numpy": true, "conda/pandas": true, "conda/scipy": false,
		"conda/pytorch": false, "conda/cudatoolkit": false, "conda/pip": false, "pypi/transformers": true, "pypi/datasets": false} {
		r, ok := got[name]
		if !ok || r.Pinned != pinned {
			t.Errorf("%s: %+v (found %v), want pinned=%v", name, r, ok, pinned)
		}
	}
	if got["conda/numpy"].Version != "1.26.4" || got["conda/numpy"].PURL() != "pkg:conda/numpy@1.26.4" {
		t.Errorf("numpy %+v", got["conda/numpy"])
	}
	if _, err := ParseEnvironment("environment.yml", []byte("dependencies:\n  - [a, b]\n")); err == nil || !strings.Contains(err.Error(), "environment.yml:2") {
		t.Errorf("a list as a dependency: %v", err)
	}
}

func TestFindRequirements(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "weights.bin"), []byte("w"), 0o644)
	os.WriteFile(filepath.Join(dir, "requirements-serve.txt"), []byte("torch==2.4.1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "environment.yaml"), []byte("dependencies:\n  - numpy\n"), 0o644)
	reqs, err := FindRequirements(dir)
	if err != nil || len(reqs) != 2 {
		t.Fatalf("%+v %v", reqs, err)
	}
	// A single-file model: the files beside it.
	if reqs, err = FindRequirements(filepath.Join(dir, "weights.bin")); err != nil || len(reqs) != 2 {
		t.Fatalf("beside a file: %+v %v", reqs, err)
	}
	big := strings.Repeat("a==1\n", maxDepsFile/5+1)
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(big), 0o644)
	if _, err := FindRequirements(dir); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("an oversized file: %v", err)
	}
}

func FuzzParseRequirements(f *testing.F) {
	f.Add([]byte("torch==2.4.1\nnumpy>=1\\\n.2 ; os_name=='nt'\n-e .\nx @ https://a/b\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reqs, err := ParseRequirements("r.txt", b)
		if err != nil {
			return
		}
		for _, r := range reqs {
			if r.Name == "" || r.Pinned && (r.Version == "" || strings.ContainsAny(r.Version, "*<>,")) {
				t.Fatalf("requirement %+v", r)
			}
		}
	})
}

func FuzzParsePyproject(f *testing.F) {
	f.Add([]byte("[project]\ndependencies = [\"a==1\"]\n[tool.poetry.dependencies]\nb = \"^1\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reqs, err := ParsePyproject("p.toml", b)
		if err != nil {
			return
		}
		for _, r := range reqs {
			if r.Pinned && r.Version == "" {
				t.Fatalf("pinned without a version: %+v", r)
			}
		}
	})
}

func FuzzParseEnvironment(f *testing.F) {
	f.Add([]byte("dependencies:\n  - numpy=1.2=b\n  - pip:\n    - a==1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		reqs, err := ParseEnvironment("e.yml", b)
		if err != nil {
			return
		}
		for _, r := range reqs {
			if r.Pinned && r.Version == "" {
				t.Fatalf("pinned without a version: %+v", r)
			}
		}
	})
}
