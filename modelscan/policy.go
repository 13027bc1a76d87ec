package modelscan

import (
	"bufio"
	"bytes"
	_ "embed"
	"strings"
	"sync"

	"github.com/modelgate/modelgate/finding"
	"github.com/modelgate/modelgate/modelscan/pickle"
)

// Policy classifies the callables a pickle imports. It is default-deny:
// a callable is safe only when the allowlist names it; what it can do
// grades the dangerous ones; everything else is reported as not allowed.
type Policy struct {
	// Allow adds exact names (module.name) or module prefixes ending in
	// ".*" to the built-in allowlist. A prefix allows what a module
	// defines, not what its attributes lead to: a dotted name walked
	// through an allowed module is judged by where it ends.
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
	"asyncio", "_posixsubprocess", "torch.hub", "dill", "IPython", "jinja2", "ensurepip", "venv", "idlelib",
	"_io", "io", "_winapi", "msvcrt", "winreg", "_winreg", "mmap",
}

// highModules reach the network, or run programs in a test harness.
var highModules = []string{
	"socket", "_socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp", "ftplib",
	"smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc", "webbrowser", "paramiko", "socketserver", "asyncore",
	"test", // CPython's test suite: helpers that run programs and touch files
}

// criticalNames are callables that run code or reach any object, wherever
// they are imported from.
var criticalNames = map[string]bool{
	"builtins.eval": true, "builtins.exec": true, "builtins.compile": true, "builtins.__import__": true,
	"builtins.getattr": true, "builtins.setattr": true, "builtins.delattr": true, "builtins.open": true,
	"builtins.globals": true, "builtins.locals": true, "builtins.vars": true, "builtins.breakpoint": true,
	"builtins.input": true, "builtins.memoryview": true, "builtins.help": true, "builtins.exit": true,
	"builtins.execfile": true, "builtins.file": true, "builtins.reload": true,
	"functools.partial": true, "functools.reduce": true, "operator.attrgetter": true, "operator.itemgetter": true,
	"operator.methodcaller": true, "_operator.attrgetter": true, "_operator.itemgetter": true, "_operator.methodcaller": true,
	"types.FunctionType": true, "types.CodeType": true, "types.MethodType": true, "types.LambdaType": true,
	"numpy.testing._private.utils.runstring": true, "torch.serialization.load": true, "torch._C._load_for_lite_interpreter": true,
	"numpy.load": true, "torch.load": true, "joblib.load": true, "pandas.read_pickle": true, "pandas.io.pickle.read_pickle": true,
	"numpy.ctypeslib.load_library": true, "numpy.lib.npyio.load": true, "torch.jit.load": true, "torch.package.PackageImporter": true,
	"cloudpickle.loads": true, "torch.utils.cpp_extension.load": true, "torch.utils.cpp_extension.load_inline": true,
}

// payloadLoaders take serialized data (a pickle, a model) as bytes and
// load it: the scanner scans what they are handed.
var payloadLoaders = map[string]bool{
	"torch.storage._load_from_bytes": true, "torch.load": true, "torch.serialization.load": true,
	"pickle.loads": true, "_pickle.loads": true, "pickle._loads": true, "numpy.load": true, "joblib.load": true,
	"pandas.read_pickle": true, "dill.loads": true, "cloudpickle.loads": true,
}

// loadsPayload reports whether a callable loads nested serialized data.
func loadsPayload(module, name string) bool { return payloadLoaders[module+"."+name] }

// allowed are the callables ML frameworks' own pickles use.
var allowed = map[string]bool{
	"collections.OrderedDict": true, "collections.defaultdict": true, "collections.deque": true, "collections.Counter": true,
	"builtins.set": true, "builtins.frozenset": true, "builtins.bytearray": true, "builtins.complex": true,
	"builtins.slice": true, "builtins.range": true, "builtins.list": true, "builtins.dict": true, "builtins.tuple": true,
	"builtins.int": true, "builtins.float": true, "builtins.bool": true, "builtins.str": true, "builtins.bytes": true,
	"builtins.object": true, "copyreg._reconstructor": true,
	"datetime.datetime": true, "datetime.date": true, "datetime.time": true, "datetime.timedelta": true, "datetime.timezone": true,
	"decimal.Decimal": true, "fractions.Fraction": true, "uuid.UUID": true, "pathlib.PosixPath": true, "pathlib.WindowsPath": true,
	"pathlib.PurePosixPath": true, "pathlib.PureWindowsPath": true, "argparse.Namespace": true,
	"torch._utils._rebuild_tensor": true, "torch._utils._rebuild_tensor_v2": true, "torch._utils._rebuild_tensor_v3": true,
	"torch._utils._rebuild_parameter": true, "torch._utils._rebuild_parameter_with_state": true,
	"torch._utils._rebuild_qtensor": true, "torch._utils._rebuild_sparse_tensor": true, "torch._utils._rebuild_nested_tensor": true,
	"torch._utils._rebuild_device_tensor_from_numpy": true, "torch._utils._rebuild_meta_tensor_no_storage": true,
	"torch._utils._rebuild_wrapper_subclass": true, "torch._tensor._rebuild_from_type_v2": true,
	"torch.nn.parameter.Parameter": true, "torch.Size": true, "torch.device": true, "torch.dtype": true,
	"torch.storage._load_from_bytes":     true, // its payload is scanned
	"numpy.core.multiarray._reconstruct": true, "numpy._core.multiarray._reconstruct": true,
	"numpy.core.multiarray.scalar": true, "numpy._core.multiarray.scalar": true, "numpy.ndarray": true, "numpy.dtype": true,
	"numpy.core.numeric._frombuffer": true, "numpy._core.numeric._frombuffer": true, "numpy.random._pickle.__randomstate_ctor": true,
	"numpy.random._pickle.__bit_generator_ctor": true, "numpy.random._pickle.__generator_ctor": true,
	"joblib.numpy_pickle.NumpyArrayWrapper": true, "joblib.numpy_pickle.NDArrayWrapper": true,
	"_codecs.encode": true, "codecs.encode": true,
	// pandas writes DataFrames, Series and indexes with these helpers.
	"pandas.core.indexes.base._new_Index": true, "pandas._libs.internals._unpickle_block": true,
	"pandas.core.internals.blocks.new_block": true, "pandas.core.internals.blocks.new_block_2d": true,
	"pandas._libs.tslibs.timestamps._unpickle_timestamp": true, "pandas._libs.tslibs.timedeltas._timedelta_unpickle": true,
	"pandas._libs.tslibs.nattype.__nat_unpickle": true, "pandas._libs.arrays.__pyx_unpickle_NDArrayBacked": true,
	"pandas.core.indexes.datetimes._new_DatetimeIndex": true, "pandas.core.indexes.period._new_PeriodIndex": true,
	"pandas.core.internals.managers.BlockManager": true, "pandas.core.internals.managers.SingleBlockManager": true,
}

// allowedClassModules admit every class (a capitalised name, not a dotted
// walk) they define: the estimators of scikit-learn, torch's storage and
// dtype classes, pandas' frames, Hugging Face's training arguments and
// their enums.
var allowedClassModules = []string{"sklearn.", "torch.", "numpy.", "scipy.sparse.", "xgboost.", "lightgbm.", "catboost.",
	"pandas.core.", "pandas._libs.", "transformers.training_args.", "transformers.training_args_seq2seq.",
	"transformers.trainer_utils.", "transformers.trainer_pt_utils.", "transformers.debug_utils.", "transformers.utils.generic.",
	"accelerate.utils.dataclasses.", "accelerate.state."}

// deniedClassPaths are modules inside allowed packages whose classes load
// code, spawn processes or open files.
var deniedClassPaths = []string{"torch.hub", "torch.serialization", "torch.utils", "torch.package", "torch._dynamo", "torch.fx",
	"torch.multiprocessing", "torch.distributed", "torch.jit", "torch._inductor", "torch.cuda", "numpy.testing", "numpy.distutils",
	"numpy.ctypeslib", "numpy.f2py", "numpy.lib.npyio", "numpy.lib.format", "numpy.lib._datasource", "numpy.memmap", "pandas.io", "sklearn.datasets",
	"sklearn.utils._testing"}

// classifyImport grades one imported callable by where find_class ends
// up: the name after Python 2 renames, and, for a dotted name, the
// attribute walk resolved through module aliases and re-exports. Danger
// is judged before the allowlist, so that an allowed module is no door
// to what its attributes reach.
func (p *Policy) classifyImport(imp pickle.Import) (int, finding.Severity) {
	return p.classify(imp.ResolvedModule, imp.ResolvedName)
}

// classify grades module.name.
func (p *Policy) classify(module, name string) (int, finding.Severity) {
	full := module + "." + name
	if p.allowsExact(full) {
		return verdictAllowed, finding.Info
	}
	// A Python 2 name is judged by its Python 3 home too, whatever the
	// protocol: a loader may rename it.
	targets := walkTargets(module, name)
	if m3, n3 := pickle.Py3Name(module, name); m3+"."+n3 != full {
		targets = append(targets, walkTargets(m3, n3)...)
	}
	worst := -1
	for _, t := range targets {
		worst = max(worst, dangerOf(t))
	}
	if walksInternals(name) {
		worst = int(finding.Critical)
	}
	if worst >= 0 {
		return verdictDangerous, finding.Severity(worst)
	}
	if p.allows(module, name) {
		return verdictAllowed, finding.Info
	}
	return verdictUnknown, finding.Medium
}

// walkTargets returns where find_class can end for module and name: the
// name itself, the attribute walk resolved through the standard library's
// aliases (random._os is os, io.FileIO is _io.FileIO), and, for modules
// outside the standard library, every point where the walk passes through
// a dangerous module by its own name (numpy.ctypeslib.ctypes is ctypes).
func walkTargets(module, name string) []string {
	full := module + "." + name
	out := []string{full}
	path := module
	if t, ok := effectTable().aliases[path]; ok {
		path = t
	}
	for _, seg := range strings.Split(name, ".") {
		next := path + "." + seg
		for range 8 { // aliases of aliases, bounded
			t, ok := effectTable().aliases[next]
			if !ok || t == next {
				break
			}
			next = t
		}
		path = next
	}
	if path != full {
		out = append(out, path)
	}
	segs := strings.Split(full, ".")
	for i := 1; i < len(segs)-1; i++ {
		if reexported[segs[i]] {
			out = append(out, strings.Join(segs[i:], "."))
		}
	}
	return out
}

// introspection are the attributes through which a walk leaves the
// object it started at for the interpreter's internals: a function's
// globals and builtins, a class's subclasses and bases, a method's
// owner. A dotted name through one of them reaches everything.
var introspection = map[string]bool{
	"__globals__": true, "__builtins__": true, "__dict__": true, "__class__": true, "__subclasses__": true,
	"__mro__": true, "__bases__": true, "__base__": true, "__code__": true, "__closure__": true, "__self__": true,
	"__func__": true, "__import__": true, "__loader__": true, "__spec__": true, "__getattribute__": true,
	"__objclass__": true, "__wrapped__": true, "__reduce__": true, "__reduce_ex__": true,
}

// walksInternals reports whether a dotted name walks through one of the
// introspection attributes.
func walksInternals(name string) bool {
	if !strings.Contains(name, ".") {
		return false
	}
	for seg := range strings.SplitSeq(name, ".") {
		if introspection[seg] {
			return true
		}
	}
	return false
}

// reexported are dangerous modules that other modules import and so expose
// as attributes (pathlib.os, shutil.os, typing.sys): met anywhere inside a
// dotted name, they are what find_class ends up returning.
var reexported = map[string]bool{
	"os": true, "posix": true, "nt": true, "subprocess": true, "sys": true, "shutil": true, "pty": true,
	"runpy": true, "importlib": true, "ctypes": true, "_ctypes": true, "pickle": true, "_pickle": true, "marshal": true,
	"builtins": true, "__builtin__": true, "socket": true, "urllib": true, "requests": true, "http": true, "io": true, "_io": true,
	"tempfile": true, "multiprocessing": true, "asyncio": true, "webbrowser": true, "code": true, "pdb": true,
}

// dangerOf grades a fully qualified name: -1 when nothing marks it.
func dangerOf(t string) int {
	worst := -1
	if criticalNames[t] {
		worst = int(finding.Critical)
	}
	if e, ok := effectTable().effects[t]; ok {
		worst = max(worst, int(e))
	}
	if inModules(t, criticalModules) && t != "io" && t != "_io" {
		worst = max(worst, int(finding.Critical))
	} else if inModules(t, highModules) {
		worst = max(worst, int(finding.High))
	}
	return worst
}

// allowsExact reports whether the built-in or the caller's allowlist names
// module.name exactly.
func (p *Policy) allowsExact(full string) bool {
	if allowed[full] {
		return true
	}
	for _, a := range p.Allow {
		if a == full {
			return true
		}
	}
	return false
}

// allows reports whether the allowlist admits module.name, by an exact
// entry or, for a name that is not an attribute walk, by a module prefix
// or the class rule.
func (p *Policy) allows(module, name string) bool {
	full := module + "." + name
	if p.allowsExact(full) {
		return true
	}
	if name == "" || strings.Contains(name, ".") || strings.ContainsAny(full, " \t") || strings.Contains(module, "..") {
		return false
	}
	for _, a := range p.Allow {
		if strings.HasSuffix(a, ".*") && strings.HasPrefix(full, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	if name[0] < 'A' || name[0] > 'Z' {
		return false
	}
	for _, m := range allowedClassModules {
		if strings.HasPrefix(module+".", m) && !inModules(module, deniedClassPaths) {
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

// stdlibEffects is stdlib_effects.txt, which effects_gen.go derives from
// the standard library's source.
//
//go:embed stdlib_effects.txt
var stdlibEffects []byte

type effects struct {
	effects map[string]finding.Severity
	aliases map[string]string
}

var effectTable = sync.OnceValue(func() *effects {
	t := &effects{effects: map[string]finding.Severity{}, aliases: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(stdlibEffects))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 {
			continue
		}
		switch f[0] {
		case "E":
			sev := finding.Critical // exec, code, write
			if f[2] == "read" || f[2] == "net" {
				sev = finding.High
			}
			t.effects[f[1]] = sev
		case "A":
			t.aliases[f[1]] = f[2]
		}
	}
	return t
})
