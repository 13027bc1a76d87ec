package modelscan

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan/pickle"
)

func TestClassify(t *testing.T) {
	p := &Policy{Allow: []string{"mycorp.models.*", "mylib.build_model"}}
	tests := []struct {
		module, name string
		verdict      int
		sev          finding.Severity
	}{
		{"os", "system", verdictDangerous, finding.Critical},
		{"posix", "system", verdictDangerous, finding.Critical},
		{"nt", "system", verdictDangerous, finding.Critical},
		{"subprocess", "Popen", verdictDangerous, finding.Critical},
		{"builtins", "eval", verdictDangerous, finding.Critical},
		{"__builtin__", "getattr", verdictDangerous, finding.Critical},
		{"builtins", "__import__", verdictDangerous, finding.Critical},
		{"runpy", "_run_code", verdictDangerous, finding.Critical},
		{"asyncio.unix_events", "_UnixSubprocessTransport", verdictDangerous, finding.Critical},
		{"pkgutil", "resolve_name", verdictDangerous, finding.Critical},
		{"pydoc", "pipepager", verdictDangerous, finding.Critical},
		{"pip._internal", "main", verdictDangerous, finding.Critical},
		{"timeit", "timeit", verdictDangerous, finding.Critical},
		{"functools", "partial", verdictDangerous, finding.Critical},
		{"operator", "methodcaller", verdictDangerous, finding.Critical},
		{"pathlib", "os.system", verdictDangerous, finding.Critical},
		{"torch", "os.system", verdictDangerous, finding.Critical},
		{"torch.hub", "load", verdictDangerous, finding.Critical},
		{"numpy.testing._private.utils", "runstring", verdictDangerous, finding.Critical},
		{"socket", "create_connection", verdictDangerous, finding.High},
		{"urllib.request", "urlopen", verdictDangerous, finding.High},
		{"webbrowser", "open", verdictDangerous, finding.Critical}, // it runs a browser: a program
		{"requests.api", "get", verdictDangerous, finding.High},
		{"collections", "OrderedDict", verdictAllowed, finding.Info},
		{"torch._utils", "_rebuild_tensor_v2", verdictAllowed, finding.Info},
		{"torch", "FloatStorage", verdictAllowed, finding.Info},
		{"torch", "BFloat16Storage", verdictAllowed, finding.Info},
		{"numpy.core.multiarray", "_reconstruct", verdictAllowed, finding.Info},
		{"numpy", "dtype", verdictAllowed, finding.Info},
		{"sklearn.linear_model._logistic", "LogisticRegression", verdictAllowed, finding.Info},
		{"sklearn.utils", "some_function", verdictUnknown, finding.Medium},
		{"mycorp.models.v2", "Net", verdictAllowed, finding.Info},
		{"mylib", "build_model", verdictAllowed, finding.Info},
		{"scipy.signal", "Foo", verdictUnknown, finding.Medium},
		{"evil", "Thing", verdictUnknown, finding.Medium},
	}
	for _, tt := range tests {
		v, sev := p.classify(tt.module, tt.name)
		if v != tt.verdict || v != verdictAllowed && sev != tt.sev {
			t.Errorf("%s.%s: verdict %d severity %v, want %d %v", tt.module, tt.name, v, sev, tt.verdict, tt.sev)
		}
	}
}

// TestAllowlistHoldsNothingDangerous: no name the built-in allowlist
// admits exactly is one the danger rules or the standard library's
// effects grade, under its own name or its Python 3 one, so an allowlist
// entry can never hide an effect. (The re-export heuristic is left out:
// numpy.random._pickle is numpy's module, not CPython's _pickle.)
func TestAllowlistHoldsNothingDangerous(t *testing.T) {
	for full := range allowed {
		i := strings.LastIndex(full, ".")
		module, name := full[:i], full[i+1:]
		m3, n3 := pickle.Py3Name(module, name)
		for _, target := range []string{full, m3 + "." + n3} {
			if d := dangerOf(target); d >= 0 && !payloadLoaders[full] {
				t.Errorf("%s is allowed, but %s is graded %v", full, target, finding.Severity(d))
			}
		}
	}
}
