"""The reference loaders for modelscan's differential tests.

Reads records from standard input (each a 4-byte little-endian length and
that many bytes) and writes one JSON line per record, as the real Python
library reads it. Nothing in a record is ever run: the unpickler's
find_class and persistent_load return inert stand-ins that accept
whatever is done to them, and record what was asked for.

    python3 pyloaders.py pickle|zip|tar|literal|jinja|dumps N < records

The jinja mode parses each record as a chat template and renders it in
an environment where every attribute and item access is recorded and
answered with an inert probe: the template never touches a real Python
object's internals, so nothing it asks for runs.
"""

import ast
import io
import json
import pickle
import random
import resource
import struct
import sys
import tarfile
import warnings
import zipfile


def records():
    data = sys.stdin.buffer.read()
    i = 0
    while i < len(data):
        (n,) = struct.unpack_from("<I", data, i)
        i += 4
        yield data[i : i + n]
        i += n


def make():
    """A fresh inert class: calling it, instantiating it (NEWOBJ), setting
    its state, appending, extending, adding and setting items all work and
    give another such class."""
    return Meta("Inert", (), {"__new__": lambda cls, *a, **k: make()})


class Meta(type):
    def __call__(cls, *a, **k):
        return make()

    def __setstate__(cls, state):
        pass

    def append(cls, x):
        pass

    def extend(cls, xs):
        pass

    def add(cls, x):
        pass

    def __setitem__(cls, k, v):
        pass

    def __hash__(cls):
        return id(cls)


class Recorder(pickle.Unpickler):
    def __init__(self, f, calls):
        super().__init__(f)
        self.calls = calls

    def find_class(self, module, name):
        self.calls.append([module, name])
        return make()

    def persistent_load(self, pid):
        return make()


def load_pickles(data):
    """pickle.load in a loop, as the scanner walks concatenated pickles,
    from a file without peek() (io.BytesIO, as torch.load reads a zip
    checkpoint's pickle) and from one with it (an open file): the two
    read frames differently. The calls are both ways'."""
    calls = []
    out = {"calls": calls}
    for name, f in (("buffered", io.BufferedReader(io.BytesIO(data))), ("bytesio", io.BytesIO(data))):
        error, loaded = None, 0
        while True:
            if name == "bytesio" and f.tell() >= len(data):
                break
            if name == "buffered" and not f.peek(1):
                break
            try:
                Recorder(f, calls).load()
                loaded += 1
            except BaseException as e:  # anything the unpickler raises
                error = type(e).__name__ + ": " + str(e)[:200]
                break
        out[name] = {"loaded": loaded, "error": error}
    return out


def list_zip(data):
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except BaseException as e:
        return {"error": type(e).__name__ + ": " + str(e)[:200]}
    members = []
    for info in z.infolist():
        m = {"name": info.filename, "size": info.file_size}
        try:
            m["data"] = z.read(info).hex()
        except BaseException as e:
            m["error"] = type(e).__name__
        members.append(m)
    return {"members": members}


def list_tar(data):
    try:
        t = tarfile.open(fileobj=io.BytesIO(data), mode="r:")
    except BaseException as e:
        return {"error": type(e).__name__ + ": " + str(e)[:200]}
    members = []
    try:
        for info in t:
            if not info.isreg():
                continue
            m = {"name": info.name, "size": info.size}
            try:
                m["data"] = t.extractfile(info).read().hex()
            except BaseException as e:
                m["error"] = type(e).__name__
            members.append(m)
    except BaseException as e:
        return {"members": members, "error": type(e).__name__ + ": " + str(e)[:200]}
    return {"members": members}


def literal(data):
    """ast.literal_eval, as numpy reads a .npy header, and the value as
    JSON (tuples as lists)."""
    try:
        v = ast.literal_eval(data.decode("latin1"))
    except BaseException as e:
        return {"error": type(e).__name__}

    def conv(x):
        if isinstance(x, (list, tuple)):
            return {"seq": [conv(y) for y in x]}
        if isinstance(x, dict):
            return {"dict": [[conv(k), conv(y)] for k, y in x.items()]}
        if isinstance(x, bool) or x is None:
            return {"const": repr(x)}
        if isinstance(x, int):
            return {"int": str(x)}
        if isinstance(x, float):
            return {"float": repr(x)}
        if isinstance(x, str):
            return {"str": x}
        if isinstance(x, bytes):
            return {"bytes": x.hex()}
        return {"other": type(x).__name__}

    return {"value": conv(v)}


class Probe:
    """Answers everything a template does to a value with itself. What
    the template asks for is recorded where it asks: the environment's
    getattr and getitem, the attr filter and str.format."""

    __slots__ = ()

    def __getattribute__(self, name):
        return PROBE

    def __call__(self, *a, **k):
        return PROBE

    def __getitem__(self, k):
        return PROBE

    def __iter__(self):
        return iter([PROBE, PROBE])

    def __reversed__(self):
        return iter([PROBE, PROBE])

    def __len__(self):
        return 2

    def __bool__(self):
        return True

    def __str__(self):
        return "p"

    def __format__(self, spec):
        return "p"

    def __int__(self):
        return 1

    def __index__(self):
        return 1

    def __float__(self):
        return 1.0

    def __hash__(self):
        return 0

    def __eq__(self, o):
        return False

    def __lt__(self, o):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __contains__(self, x):
        return True

    def __add__(self, o):
        return PROBE

    __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __mod__ = __rmod__ = __add__
    __truediv__ = __floordiv__ = __pow__ = __neg__ = __pos__ = __add__


PROBE = Probe()
REACHED = []


def note(k):
    if type(k) is str:
        REACHED.append(k)
    elif type(k) is Probe:
        REACHED.append("<probe>")


# The str, list and dict methods templates call on real values: safe to
# run, and how a template builds a name from constants.
SAFE_METHODS = {
    "format", "format_map", "join", "replace", "upper", "lower", "strip", "lstrip", "rstrip", "swapcase",
    "split", "capitalize", "title", "startswith", "endswith", "items", "keys", "values", "get",
}


def format_fields(s):
    """Records the attributes and items a str.format string reaches."""
    import _string
    import string

    try:
        for _, field, _, _ in string.Formatter().parse(s):
            if field:
                _, rest = _string.formatter_field_name_split(field)
                for _, key in rest:
                    note(str(key))
    except Exception:
        pass


def jinja_env():
    import jinja2
    import jinja2.ext

    class Generation(jinja2.ext.Extension):
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.Scope(body, lineno=lineno)

    class Recording(jinja2.Environment):
        def getattr(self, obj, attribute):
            note(attribute)
            if type(obj) in (str, list, tuple, dict) and attribute in SAFE_METHODS:
                if attribute in ("format", "format_map") and type(obj) is str:
                    format_fields(obj)
                return getattr(obj, attribute)
            if type(obj) is dict and attribute in obj:
                return obj[attribute]
            return PROBE

        def getitem(self, obj, argument):
            note(argument)
            if type(obj) in (str, list, tuple, dict):
                try:
                    return obj[argument]
                except Exception:
                    pass
            return PROBE

    env = Recording(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do", Generation])

    def attr(obj, name):
        note(name)
        return PROBE

    env.filters["attr"] = attr
    return env


def jinja(data):
    """Parses a template as jinja2 does, and the names rendering reaches."""
    import signal

    import jinja2.meta
    import jinja2.nodes

    env = jinja_env()
    src = data.decode("utf-8", "replace")
    try:
        ast = env.parse(src)
    except BaseException as e:
        return {"error": type(e).__name__ + ": " + str(e)[:200]}
    consts = sorted(n.value for n in ast.find_all(jinja2.nodes.Const) if type(n.value) is str)
    try:
        tmpl = env.from_string(src)
    except BaseException as e:
        # Parsed, but not compiled (an unknown filter or test): jinja2
        # will not load it.
        return {"compile_error": type(e).__name__ + ": " + str(e)[:200], "consts": consts}
    REACHED.clear()
    context = {n: PROBE for n in jinja2.meta.find_undeclared_variables(ast)}

    def timeout(*_):
        raise TimeoutError()

    signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        tmpl.render(**context)
    except BaseException:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return {"reached": sorted(set(REACHED)), "consts": consts}


def dumps(n, seed):
    """Pickles of random nested objects, every protocol: what real
    picklers write."""
    rng = random.Random(seed)

    def obj(depth):
        k = rng.randrange(12 if depth < 4 else 6)
        if k == 0:
            return rng.randrange(-(2**70), 2**70)
        if k == 1:
            return rng.choice([0, 1, -1, 255, 256, 65535, 2**31, -(2**31) - 1])
        if k == 2:
            return rng.random() * 10 ** rng.randrange(-5, 300)
        if k == 3:
            return "".join(rng.choice("ab_.\u00e9\u4e2d\\'\"\n") for _ in range(rng.randrange(8)))
        if k == 4:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(300)))
        if k == 5:
            return rng.choice([None, True, False])
        if k == 6:
            return [obj(depth + 1) for _ in range(rng.randrange(5))]
        if k == 7:
            return tuple(obj(depth + 1) for _ in range(rng.randrange(5)))
        if k == 8:
            return {rng.choice(["a", "b", 1, (1, 2), None]): obj(depth + 1) for _ in range(rng.randrange(4))}
        if k == 9:
            return set(rng.choice(["x", 1, 2.5, (3,)]) for _ in range(rng.randrange(4)))
        if k == 10:
            return bytearray(rng.randrange(256) for _ in range(rng.randrange(20)))
        shared = [1, "s"]
        return [shared, shared, {"k": shared}]

    out = []
    for _ in range(n):
        o = obj(0)
        proto = rng.randrange(0, pickle.HIGHEST_PROTOCOL + 1)
        out.append(pickle.dumps(o, protocol=proto).hex())
    return out


def main():
    # A record that makes the unpickler allocate without bound (a memo
    # key of 2**32) gets a MemoryError, not the machine's OOM killer.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    warnings.simplefilter("ignore")
    sys.unraisablehook = lambda u: None
    mode = sys.argv[1]
    if mode == "dumps":
        json.dump(dumps(int(sys.argv[2]), int(sys.argv[3])), sys.stdout)
        return
    fn = {"pickle": load_pickles, "zip": list_zip, "tar": list_tar, "literal": literal, "jinja": jinja}[mode]
    out = sys.stdout
    for rec in records():
        out.write(json.dumps(fn(rec)) + "\n")


if __name__ == "__main__":
    main()
