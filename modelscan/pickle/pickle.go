// Package pickle walks Python pickles (protocols 0 to 5) opcode by opcode
// without executing them, and reports every callable a pickle imports or
// calls. It is the parser the model scanner classifies; it decides nothing
// itself.
//
// It simulates the pickle machine's stack and memo closely enough to know
// the operands of every import: GLOBAL and INST name theirs, STACK_GLOBAL
// takes them from the stack, where they may come from any string opcode
// (protocol 0's quoted STRING included) or from the memo. Values that are
// not strings are tracked only as placeholders, so the walk costs a few
// nanoseconds per opcode and its memory is bounded whatever the pickle
// builds. Several pickles in a row are walked one after another, as
// pickle.load called in a loop would read them; what follows the last
// complete pickle, if it is not one, is reported, and what came before it
// is still judged.
package pickle

import (
	"errors"
	"fmt"
)

// Import is one callable a pickle names.
type Import struct {
	Module string
	Name   string
	Offset int64  // of the opcode that names it
	Opcode string // GLOBAL, INST, STACK_GLOBAL
	// Called is set when the pickle calls it (REDUCE, OBJ, NEWOBJ, INST),
	// rather than only naming it.
	Called bool
	// Dynamic is set for STACK_GLOBAL whose operands were not constant
	// strings: the import cannot be known without running the pickle.
	Dynamic bool
}

// Full returns module.name.
func (i Import) Full() string { return i.Module + "." + i.Name }

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
	// Err is why the walk stopped early (a truncated or malformed pickle,
	// or a limit exceeded), with its offset; imports before it are kept.
	Err error
	// TrailingBytes counts bytes after the last complete pickle that were
	// not another pickle.
	TrailingBytes int64
}

// Limits bound a walk's memory. The zero value uses the defaults.
type Limits struct {
	MaxStack   int // values on the stack; default 1<<20
	MaxMemo    int // memo entries; default 1<<22
	MaxImports int // imports kept; default 10000
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
