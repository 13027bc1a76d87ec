"""Derive what calling each callable of Python's standard library can do.

Run by effects_gen.go. The standard library's source is parsed with ast;
nothing is imported or run. A function is dangerous when it calls (or a
class when constructing, calling, setting the state of, or filling it
calls) one of a few primitives that run a program, run code, touch the
file system or reach the network, directly or through other functions,
methods (self.x, inherited), module aliases (import os as _os) and
re-exports (from subprocess import Popen) anywhere in the library. The
result, and the module-level names that are other modules or callables
(random._os is os), are printed as JSON.
"""

import ast
import json
import os
import sys
import sysconfig

# The primitives: names whose effect is known, many of them in C.
EXEC, CODE, WRITE, READ, NET = "exec", "code", "write", "read", "net"
RANK = {EXEC: 5, CODE: 4, WRITE: 3, READ: 2, NET: 1}

SEEDS = {}
for n in ["system", "popen", "execl", "execle", "execlp", "execlpe", "execv", "execve", "execvp", "execvpe",
          "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
          "posix_spawn", "posix_spawnp", "fork", "forkpty", "startfile", "kill", "killpg"]:
    SEEDS["os." + n] = SEEDS["posix." + n] = SEEDS["nt." + n] = EXEC
for n in ["open", "remove", "unlink", "rmdir", "removedirs", "rename", "renames", "replace", "mkdir", "makedirs",
          "chmod", "lchmod", "chown", "lchown", "fchown", "fchmod", "chroot", "symlink", "link", "truncate", "ftruncate",
          "write", "pwrite", "writev", "utime", "mkfifo", "mknod", "chdir", "putenv", "unsetenv", "setuid", "setgid"]:
    SEEDS["os." + n] = SEEDS["posix." + n] = SEEDS["nt." + n] = WRITE
for n in ["read", "pread", "listdir", "scandir", "walk", "fwalk", "readlink", "getcwd", "stat", "lstat"]:
    SEEDS.setdefault("os." + n, READ)
for n in ["fork_exec"]:
    SEEDS["_posixsubprocess." + n] = EXEC
SEEDS["_winapi.CreateProcess"] = EXEC
for n in ["eval", "exec", "compile", "__import__", "breakpoint"]:
    SEEDS["builtins." + n] = CODE
SEEDS["builtins.open"] = WRITE
for n in ["open", "FileIO", "open_code"]:
    SEEDS["_io." + n] = SEEDS["io." + n] = WRITE
for n in ["loads", "load"]:
    SEEDS["marshal." + n] = SEEDS["_pickle." + n] = SEEDS["pickle." + n] = CODE
SEEDS["_pickle.Unpickler"] = CODE
SEEDS["_imp.create_dynamic"] = SEEDS["_imp.exec_dynamic"] = SEEDS["_imp.exec_builtin"] = CODE
for n in ["dlopen", "LoadLibrary", "FreeLibrary", "call_function", "call_cdeclfunction", "CFuncPtr", "_SimpleCData"]:
    SEEDS["_ctypes." + n] = CODE
for n in ["socket", "create_connection", "create_server", "getaddrinfo", "gethostbyname", "socketpair", "fromfd"]:
    SEEDS["_socket." + n] = SEEDS["socket." + n] = NET
SEEDS["_ssl._SSLContext"] = NET
for n in ["FunctionType", "CodeType", "LambdaType"]:
    SEEDS["types." + n] = CODE
SEEDS["mmap.mmap"] = WRITE
SEEDS["_sqlite3.connect"] = WRITE
SEEDS["_dbm.open"] = SEEDS["_gdbm.open"] = WRITE
SEEDS["_tkinter.create"] = EXEC
SEEDS["readline.read_history_file"] = SEEDS["readline.write_history_file"] = WRITE
SEEDS["resource.setrlimit"] = SEEDS["_signal.signal"] = SEEDS["signal.signal"] = WRITE
SEEDS["sys.settrace"] = SEEDS["sys.setprofile"] = SEEDS["sys.addaudithook"] = CODE

# Methods a pickle's loading can reach on an object it makes: calling or
# constructing it, BUILD (__setstate__), APPEND(S) (append, extend),
# SETITEM(S) (__setitem__), ADDITEMS (add), and its end (__del__).
LOAD_METHODS = {"__init__", "__new__", "__call__", "__setstate__", "append", "extend", "__setitem__", "add", "__del__",
                "__init_subclass__", "__class_getitem__"}


def stdlib_files():
    root = sysconfig.get_paths()["stdlib"]
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("site-packages", "__pycache__", "lib2to3", "idlelib") and not d.startswith("plat-")]
        for f in files:
            if not f.endswith(".py"):
                continue
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, root)[:-3].split(os.sep)
            if rel[-1] == "__init__":
                rel = rel[:-1]
            if not rel or "-" in ".".join(rel):
                continue
            yield ".".join(rel), full, f == "__init__.py"


class Module:
    def __init__(self, name, tree, is_pkg):
        self.name = name
        self.package = name if is_pkg else name.rpartition(".")[0]
        self.names = {}  # local name -> qualified thing
        self.funcs = {}  # qualname -> FunctionDef
        self.classes = {}  # name -> (ClassDef, bases, attrs)
        self.tree = tree

    def absolute(self, module, level):
        if not level:
            return module or ""
        base = self.package.split(".")
        if level > 1:
            base = base[: len(base) - (level - 1)]
        return ".".join([p for p in base if p] + ([module] if module else []))


def collect(mod):
    for node in mod.tree.body:
        bind_imports(mod, node, mod.names)
        if isinstance(node, ast.Try):
            for part in [node.body, node.orelse, node.finalbody] + [h.body for h in node.handlers]:
                for n in part:
                    bind_imports(mod, n, mod.names)
        if isinstance(node, ast.If):
            for n in node.body + node.orelse:
                bind_imports(mod, n, mod.names)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    mod.funcs[n.name] = n
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mod.funcs[node.name] = node
        elif isinstance(node, ast.ClassDef):
            attrs = {}
            for b in node.body:
                if isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    mod.funcs[node.name + "." + b.name] = b
                elif isinstance(b, ast.Assign) and len(b.targets) == 1 and isinstance(b.targets[0], ast.Name):
                    attrs[b.targets[0].id] = b.value
            mod.classes[node.name] = (node, [dotted(x) for x in node.bases], attrs)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            d = dotted(node.value)
            if d:
                mod.names.setdefault(node.targets[0].id, ("ref", d))


def bind_imports(mod, node, names):
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                names[a.asname] = ("mod", a.name)
            else:
                names[a.name.split(".")[0]] = ("mod", a.name.split(".")[0])
    elif isinstance(node, ast.ImportFrom):
        base = mod.absolute(node.module, node.level)
        for a in node.names:
            if a.name != "*":
                names[a.asname or a.name] = ("from", base + "." + a.name)


def dotted(e):
    parts = []
    while isinstance(e, ast.Attribute):
        parts.append(e.attr)
        e = e.value
    if isinstance(e, ast.Name):
        parts.append(e.id)
        return ".".join(reversed(parts))
    return None


BUILTINS = set(dir(__builtins__))


class Analysis:
    def __init__(self, modules):
        self.modules = modules

    def resolve_name(self, mod, dname):
        """A dotted expression in mod to a qualified name, or None."""
        head, _, rest = dname.partition(".")
        if head in mod.names:
            kind, target = mod.names[head]
            if kind == "ref":
                q = self.resolve_name(mod, target) if target.split(".")[0] != head else None
                if q is None:
                    return None
                target = q
            return target + ("." + rest if rest else "")
        if head in mod.funcs or head in mod.classes:
            return mod.name + "." + dname
        if head in BUILTINS:
            return "builtins." + dname
        return None

    def method_owner(self, mod, cls, meth, seen=None):
        """The qualified name of cls.meth, looking through base classes."""
        seen = seen or set()
        if (mod.name, cls) in seen or cls not in mod.classes:
            return None
        seen.add((mod.name, cls))
        if cls + "." + meth in mod.funcs:
            return mod.name + "." + cls + "." + meth
        node, bases, attrs = mod.classes[cls]
        if meth in attrs:
            d = dotted(attrs[meth])
            if d:
                return self.resolve_name(mod, d)
        for b in bases:
            if not b:
                continue
            q = self.resolve_name(mod, b)
            if not q:
                continue
            bmod_name, _, bcls = q.rpartition(".")
            bmod = self.modules.get(bmod_name)
            if bmod:
                r = self.method_owner(bmod, bcls, meth, seen)
                if r:
                    return r
        return None

    def raw_calls(self, mod, qual, fn):
        """What a function calls or passes on: qualified names, and
        ("self", name) for its own methods, resolved later against the
        class it runs for."""
        local = dict(mod.names)
        for node in ast.walk(fn):
            bind_imports(mod, node, local)  # imports inside the function
        saved, mod.names = mod.names, local
        out = set()
        try:
            # Local variables made by constructing a class: their methods
            # are that class's (builder = EnvBuilder(); builder.create()).
            types = {}
            for node in ast.walk(fn):
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Call):
                    d = dotted(node.value.func)
                    q = self.resolve_name(mod, d) if d else None
                    if q:
                        cm, _, cn = q.rpartition(".")
                        if cm in self.modules and cn in self.modules[cm].classes:
                            types[node.targets[0].id] = (self.modules[cm], cn)
            for node in ast.walk(fn):
                target = None
                if isinstance(node, ast.Call):
                    target = node.func
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                    target = node
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    target = node  # a callable passed on (open_func = open)
                if target is None:
                    continue
                d = dotted(target)
                if not d:
                    continue
                head, _, rest = d.partition(".")
                if head in ("self", "cls"):
                    if rest:
                        out.add(("self", rest.split(".")[0]))
                    continue
                if head in types and rest:
                    q = self.method_owner(types[head][0], types[head][1], rest.split(".")[0])
                    if q:
                        out.add(q)
                    continue
                q = self.resolve_name(mod, d)
                if q:
                    out.add(q)
        finally:
            mod.names = saved
        return out


def effect_of(name, effects):
    if name in effects:
        return effects[name]
    # A name inside a module whose every callable is dangerous.
    for mod, eff in WHOLE.items():
        if name == mod or name.startswith(mod + "."):
            return eff
    return None


WHOLE = {"subprocess": EXEC, "pty": EXEC, "_posixsubprocess": EXEC, "ctypes": CODE, "_ctypes": CODE, "shutil": WRITE,
         "tempfile": WRITE, "runpy": CODE, "importlib": CODE, "socket": NET, "_socket": NET, "ssl": NET, "urllib.request": NET,
         "http.client": NET, "ftplib": NET, "smtplib": NET, "telnetlib": NET, "poplib": NET, "xmlrpc.client": NET}


def main():
    modules = {}
    for name, path, is_pkg in stdlib_files():
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read(), path)
        except (SyntaxError, ValueError):
            continue
        m = Module(name, tree, is_pkg)
        collect(m)
        modules[name] = m
    a = Analysis(modules)
    raw = {}
    owner = {}
    for m in modules.values():
        for qual, fn in m.funcs.items():
            q = m.name + "." + qual
            raw[q] = a.raw_calls(m, qual, fn)
            owner[q] = (m, qual.split(".")[0] if "." in qual else None)

    def callees(f, dispatch):
        """What f calls, its self-calls resolved for the class dispatch
        (a (module, class) pair), or the class that defines it."""
        m, cls = owner[f]
        dm, dc = dispatch or (m, cls)
        for c in raw.get(f, ()):
            if isinstance(c, tuple):
                if dc:
                    q = a.method_owner(dm, dc, c[1])
                    if q:
                        yield q, (dm, dc)
            else:
                yield c, None

    effects = dict(SEEDS)

    def better(e, best):
        return e and (best is None or RANK[e] > RANK[best])

    changed = True
    while changed:
        changed = False
        for f in raw:
            best = effects.get(f)
            for c, _ in callees(f, None):
                e = effect_of(c, effects)
                if better(e, best):
                    best = e
            if best and effects.get(f) != best:
                effects[f] = best
                changed = True
    # A class is as dangerous as what loading can call on it, its own
    # methods dispatched on it (an override in a subclass counts).
    for m in modules.values():
        for cls in m.classes:
            best = effects.get(m.name + "." + cls)
            seen, stack = set(), []
            for meth in LOAD_METHODS:
                q = a.method_owner(m, cls, meth)
                if q:
                    stack.append(q)
            while stack:
                f = stack.pop()
                if f in seen:
                    continue
                seen.add(f)
                e = effect_of(f, effects)
                if better(e, best):
                    best = e
                if f in raw:
                    for c, disp in callees(f, (m, cls)):
                        stack.append(c)
            if best:
                effects[m.name + "." + cls] = best
    # Module-level names that are modules or callables from elsewhere.
    aliases = {}
    for m in modules.values():
        for local, (kind, target) in m.names.items():
            if local.startswith("__"):
                continue
            if kind == "ref":
                target = a.resolve_name(m, target) if target.split(".")[0] != local else None
                if not target:
                    continue
            q = m.name + "." + local
            if target != q:
                aliases[q] = target
    # Keep the aliases a walk can use to reach something dangerous.
    def reaches(t, depth=0):
        if depth > 8:
            return False
        if effect_of(t, effects) or any(k.startswith(t + ".") for k in WHOLE) or t in ("os", "posix", "nt", "builtins", "sys", "io", "_io", "pickle", "marshal", "types"):
            return True
        return t in aliases and reaches(aliases[t], depth + 1)

    kept = {k: v for k, v in aliases.items() if reaches(v)}
    dangerous = {k: v for k, v in effects.items() if k not in SEEDS}
    json.dump({"effects": dangerous, "seeds": SEEDS, "aliases": kept, "version": sys.version.split()[0]}, sys.stdout)


main()
