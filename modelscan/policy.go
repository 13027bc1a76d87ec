package modelscan

import (
	"strings"

	"github.com/modelgate/modelgate/finding"
)

// Policy classifies the callables a pickle imports. It is default-deny:
// a callable is safe only when the allowlist names it; the denylist grades
// the dangerous ones; everything else is reported as not allowed.
type Policy struct {
	// Allow adds exact names (module.name) or module prefixes ending in
	// ".*" to the built-in allowlist.
	Allow []string
}

// Verdicts of a classification.
const (
	verdictAllowed = iota
	verdictUnknown
	verdictDangerous
)

// criticalModules run code, read or write files, or load more code when a
// pickle names anything in them; their submodules are as dangerous.
var criticalModules = []string{
	"os", "posix", "nt", "subprocess", "pty", "runpy", "pickle", "_pickle", "cPickle", "marshal", "shelve",
	"importlib", "pkgutil", "pydoc", "code", "codeop", "ctypes", "_ctypes", "pip", "setuptools", "distutils",
	"timeit", "cProfile", "profile", "trace", "pdb", "bdb", "shutil", "sys", "multiprocessing", "threading",
	"_thread", "signal", "commands", "popen2", "platform", "tempfile", "glob", "zipimport", "imp",
	"asyncio", "_posixsubprocess", "torch.hub", "dill", "IPython", "jinja2",
}

// highModules reach the network.
var highModules = []string{
	"socket", "_socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp", "ftplib",
	"smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "webbrowser", "paramiko", "socketserver", "asyncore",
}

// criticalNames are callables that run code or reach any object, wherever
// they are imported from.
var criticalNames = map[string]bool{
	"builtins.eval": true, "builtins.exec": true, "builtins.compile": true, "builtins.__import__": true,
	"builtins.getattr": true, "builtins.setattr": true, "builtins.delattr": true, "builtins.open": true,
	"builtins.globals": true, "builtins.locals": true, "builtins.vars": true, "builtins.breakpoint": true,
	"builtins.input": true, "builtins.memoryview": true, "builtins.help": true, "builtins.exit": true,
	"__builtin__.eval": true, "__builtin__.exec": true, "__builtin__.execfile": true, "__builtin__.compile": true,
	"__builtin__.__import__": true, "__builtin__.getattr": true, "__builtin__.open": true, "__builtin__.file": true,
	"functools.partial": true, "functools.reduce": true, "operator.attrgetter": true, "operator.itemgetter": true,
	"operator.methodcaller": true, "_operator.attrgetter": true, "_operator.itemgetter": true, "_operator.methodcaller": true,
	"types.FunctionType": true, "types.CodeType": true, "types.MethodType": true,
	"numpy.testing._private.utils.runstring": true, "torch.serialization.load": true, "torch._C._load_for_lite_interpreter": true,
	"numpy.load": true, "torch.load": true, "joblib.load": true, "pandas.read_pickle": true, "pandas.io.pickle.read_pickle": true,
}

// allowed are the callables ML frameworks' own pickles use.
var allowed = map[string]bool{
	"collections.OrderedDict": true, "collections.defaultdict": true, "collections.deque": true, "collections.Counter": true,
	"builtins.set": true, "builtins.frozenset": true, "builtins.bytearray": true, "builtins.complex": true,
	"builtins.slice": true, "builtins.range": true, "builtins.list": true, "builtins.dict": true, "builtins.tuple": true,
	"builtins.int": true, "builtins.float": true, "builtins.bool": true, "builtins.str": true, "builtins.bytes": true,
	"builtins.object": true, "__builtin__.set": true, "__builtin__.frozenset": true, "__builtin__.slice": true,
	"copyreg._reconstructor": true, "copy_reg._reconstructor": true,
	"datetime.datetime": true, "datetime.date": true, "datetime.time": true, "datetime.timedelta": true, "datetime.timezone": true,
	"decimal.Decimal": true, "fractions.Fraction": true, "uuid.UUID": true, "pathlib.PosixPath": true, "pathlib.WindowsPath": true,
	"torch._utils._rebuild_tensor": true, "torch._utils._rebuild_tensor_v2": true, "torch._utils._rebuild_tensor_v3": true,
	"torch._utils._rebuild_parameter": true, "torch._utils._rebuild_parameter_with_state": true,
	"torch._utils._rebuild_qtensor": true, "torch._utils._rebuild_sparse_tensor": true, "torch._utils._rebuild_nested_tensor": true,
	"torch._utils._rebuild_device_tensor_from_numpy": true, "torch._utils._rebuild_meta_tensor_no_storage": true,
	"torch._utils._rebuild_wrapper_subclass": true, "torch._tensor._rebuild_from_type_v2": true,
	"torch.nn.parameter.Parameter": true, "torch.Size": true, "torch.device": true, "torch.dtype": true,
	"torch.storage._load_from_bytes":     true,
	"numpy.core.multiarray._reconstruct": true, "numpy._core.multiarray._reconstruct": true,
	"numpy.core.multiarray.scalar": true, "numpy._core.multiarray.scalar": true, "numpy.ndarray": true, "numpy.dtype": true,
	"numpy.core.numeric._frombuffer": true, "numpy._core.numeric._frombuffer": true, "numpy.random._pickle.__randomstate_ctor": true,
	"numpy.random._pickle.__bit_generator_ctor": true, "numpy.random._pickle.__generator_ctor": true,
	"joblib.numpy_pickle.NumpyArrayWrapper": true, "joblib.numpy_pickle.NDArrayWrapper": true,
	"_codecs.encode": true, "codecs.encode": true,
}

// allowedModules admit every class (a capitalised name) they hold: the
// estimators and transformers of scikit-learn and the storage and dtype
// classes of torch.
var allowedClassModules = []string{"sklearn.", "torch.", "numpy.", "scipy.sparse.", "xgboost.", "lightgbm.", "catboost.", "pandas.core."}

// classify grades one imported callable.
func (p *Policy) classify(module, name string) (int, finding.Severity) {
	full := module + "." + name
	if p.allows(full) {
		return verdictAllowed, finding.Info
	}
	// Resolve dotted names the way pickle's find_class does (protocol 4
	// walks attributes), so "pathlib" + "os.system" is os.system.
	segs := strings.Split(full, ".")
	worst := -1
	for i := range segs {
		for j := i + 1; j <= len(segs); j++ {
			cand := strings.Join(segs[i:j], ".")
			if criticalNames[cand] {
				worst = max(worst, int(finding.Critical))
			}
		}
		if i > 0 && reexported[segs[i]] {
			worst = max(worst, int(reexported2sev(segs[i])))
		}
	}
	switch {
	case inModules(module, criticalModules):
		worst = max(worst, int(finding.Critical))
	case inModules(module, highModules):
		worst = max(worst, int(finding.High))
	}
	if worst >= 0 {
		return verdictDangerous, finding.Severity(worst)
	}
	return verdictUnknown, finding.Medium
}

// reexported are dangerous modules that other modules import and so expose
// as attributes (pathlib.os, shutil.os, typing.sys): met anywhere inside a
// dotted name, they are what find_class ends up returning.
var reexported = map[string]bool{
	"os": true, "posix": true, "nt": true, "subprocess": true, "sys": true, "shutil": true, "pty": true,
	"runpy": true, "importlib": true, "ctypes": true, "pickle": true, "_pickle": true, "marshal": true,
	"builtins": true, "__builtin__": true, "socket": true, "urllib": true, "requests": true, "http": true,
}

func reexported2sev(mod string) finding.Severity {
	if inModules(mod, highModules) {
		return finding.High
	}
	return finding.Critical
}

func (p *Policy) allows(full string) bool {
	if allowed[full] {
		return true
	}
	for _, a := range p.Allow {
		if a == full || strings.HasSuffix(a, ".*") && strings.HasPrefix(full, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	if strings.ContainsAny(full, " \t") {
		return false
	}
	dot := strings.LastIndexByte(full, '.')
	if dot < 0 {
		return false
	}
	module, name := full[:dot], full[dot+1:]
	if name == "" || name[0] < 'A' || name[0] > 'Z' {
		return false
	}
	for _, m := range allowedClassModules {
		if strings.HasPrefix(module+".", m) && !strings.Contains(module, "..") && !dangerousPath(module) {
			return true
		}
	}
	return false
}

// dangerousPath reports whether a module path passes through a dangerous
// module (torch.hub, numpy.testing, …) even inside an allowed package.
func dangerousPath(module string) bool {
	for _, bad := range []string{"torch.hub", "torch.serialization", "torch.utils.cpp_extension", "numpy.testing", "numpy.distutils", "torch.package", "torch._dynamo", "torch.fx"} {
		if module == bad || strings.HasPrefix(module, bad+".") {
			return true
		}
	}
	return false
}

// inModules reports whether a dotted name is one of the modules or inside
// one.
func inModules(name string, modules []string) bool {
	for _, m := range modules {
		if name == m || strings.HasPrefix(name, m+".") {
			return true
		}
	}
	return false
}
