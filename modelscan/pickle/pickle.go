// Package pickle walks Python pickles (protocols 0 to 5) opcode by opcode
// without executing them, and reports every callable a pickle imports or
// calls. It is the parser the model scanner classifies; it decides nothing
// itself.
//
// The walk is an abstract run of CPython's C unpickler (what pickle.load,
// torch.load and joblib.load use): it reads every opcode and argument as
// that unpickler does (the same line parsing, escapes, UTF-8 rules, stack
// marks and memo), and it knows the type of every built-in value it
// builds (None, ints, strings, bytes, tuples, lists, dicts, sets), so it
// refuses a pickle exactly where CPython would, and a pickle it reads to
// its end is one CPython reads to its end. What an imported callable
// returns is unknown: the walk assumes it permits whatever is done to it.
// Where the outcome depends on a loader's options (its encoding, its
// out-of-band buffers) the walk goes on and notes that loaders disagree.
//
// Strings are kept only when they could name a module or an attribute;
// other values are their type alone, so the walk costs nanoseconds per
// opcode and its memory is bounded whatever the pickle builds. Several
// pickles in a row are walked one after another, as pickle.load called
// in a loop would read them.
package pickle

import (
	"errors"
	"fmt"
)

// Import is one callable a pickle names.
type Import struct {
	// Module and Name are as the pickle gives them: what the unpickler's
	// find_class is asked for.
	Module string
	Name   string
	// ResolvedModule and ResolvedName are what find_class imports: for
	// protocols 0 to 2, Python 2 names are renamed to Python 3 ones
	// (__builtin__ is builtins, commands is subprocess).
	ResolvedModule string
	ResolvedName   string
	Offset         int64  // of the opcode that names it
	Opcode         string // GLOBAL, INST, STACK_GLOBAL
	// Proto is the protocol in force when it was named: from 4 on, a
	// dotted name walks attributes.
	Proto int
	// Called is set when the pickle calls it (REDUCE, OBJ, NEWOBJ, INST),
	// rather than only naming it.
	Called bool
	// Dynamic is set for STACK_GLOBAL whose operands were not constant
	// strings: the import cannot be known without running the pickle.
	Dynamic bool
	// Payloads are the bytes it was called with, for callables the walk
	// was told load nested data (Limits.Loader); PayloadUnread is set when
	// it was called with data the walk could not keep.
	Payloads      [][]byte
	PayloadUnread bool
	// LargeArg is set when it was called with an integer of at least
	// LargeInt: a size that makes an allocation of gigabytes.
	LargeArg bool
}

// Full returns module.name as the pickle names it.
func (i Import) Full() string { return i.Module + "." + i.Name }

// Resolved returns module.name as find_class imports it.
func (i Import) Resolved() string { return i.ResolvedModule + "." + i.ResolvedName }

// LargeInt is the integer from which a call's argument counts as an
// allocation size worth reporting (64 Mi elements).
const LargeInt = 1 << 26

// Result is what a walk found.
type Result struct {
	Imports []Import
	// Pickles counts the complete pickles read.
	Pickles int
	// Protocol is the highest protocol a PROTO opcode declared.
	Protocol int
	// Extensions counts EXT1/2/4 opcodes: references to the copyreg
	// extension registry, which resolve to callables at load time.
	Extensions int
	// PersistentIDs counts PERSID/BINPERSID opcodes (PyTorch stores its
	// tensor storages this way).
	PersistentIDs int
	// Err is why the walk stopped early (a truncated or malformed pickle:
	// where CPython's unpickler raises), with its offset; imports before
	// it are kept.
	Err error
	// TrailingBytes counts bytes after the last complete pickle that were
	// not another pickle.
	TrailingBytes int64
	// Incomplete lists the limits the walk reached: what it did not keep
	// or follow, so the result is not the whole story.
	Incomplete []string
	// Divergent lists where loaders read the pickle differently: the
	// default pickle.load refuses what a loader with other options
	// accepts (the walk went on, as the accepting one would).
	Divergent []string

	crossed bool // a read ran past a frame's end (see WalkFile)
}

// Limits bound a walk's memory. The zero value uses the defaults.
type Limits struct {
	MaxStack   int // values on the stack; default 1<<20
	MaxMemo    int // memo entries kept in pages; default 1<<22 (more go to a map of up to 1<<16)
	MaxImports int // imports kept; default 10000
	MaxCapture int // bytes of nested payloads kept; default 64 MiB
	// Loader reports whether a callable (by its resolved module and name)
	// loads nested serialized data from a bytes argument, so that the walk
	// keeps the bytes passed to it for the caller to scan.
	Loader func(module, name string) bool
}

func (l Limits) withDefaults() Limits {
	if l.MaxStack == 0 {
		l.MaxStack = 1 << 20
	}
	if l.MaxMemo == 0 {
		l.MaxMemo = 1 << 22
	}
	if l.MaxImports == 0 {
		l.MaxImports = 10000
	}
	if l.MaxCapture == 0 {
		l.MaxCapture = 64 << 20
	}
	return l
}

// Error is a problem at an offset.
type Error struct {
	Offset int64
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// ErrNotPickle is returned when the data does not start with a pickle.
var ErrNotPickle = errors.New("not a pickle")
