package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// pb builds pickles opcode by opcode, so tests need no checked-in files.
type pb struct{ b []byte }

func (p *pb) op(ops ...byte) *pb { p.b = append(p.b, ops...); return p }
func (p *pb) proto(v byte) *pb   { return p.op(opProto, v) }
func (p *pb) line(op byte, lines ...string) *pb {
	p.op(op)
	for _, l := range lines {
		p.b = append(append(p.b, l...), '\n')
	}
	return p
}
func (p *pb) global(module, name string) *pb { return p.line(opGlobal, module, name) }
func (p *pb) uni(s string) *pb {
	if len(s) < 256 {
		return p.op(opShortBinUni, byte(len(s))).raw(s)
	}
	p.op(opBinUnicode)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	return p.raw(s)
}
func (p *pb) raw(s string) *pb  { p.b = append(p.b, s...); return p }
func (p *pb) binput(i byte) *pb { return p.op(opBinPut, i) }
func (p *pb) binget(i byte) *pb { return p.op(opBinGet, i) }
func (p *pb) bytes() []byte     { return p.b }
func newPB() *pb                { return &pb{} }
func mustWalk(t *testing.T, b []byte) *Result {
	t.Helper()
	r, err := Walk(bytes.NewReader(b), Limits{})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return r
}

func imports(r *Result) []string {
	var out []string
	for _, i := range r.Imports {
		s := i.Full()
		if i.Called {
			s += "()"
		}
		if i.Dynamic {
			s += "?"
		}
		out = append(out, s)
	}
	return out
}

func TestImports(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"protocol 0 GLOBAL and REDUCE", newPB().global("os", "system").op(opMark).line(opString, "'ls'").op(opTuple, opReduce, opStop).bytes(), "os.system()"},
		{"protocol 0 INST", newPB().op(opMark).line(opString, "'ls'").line(opInst, "os", "system").op(opStop).bytes(), "os.system()"},
		{"protocol 1 (binary opcodes, no PROTO)", newPB().global("os", "system").op(opBinPut, 0, opMark).op(opShortBinString, 2).raw("id").op(opTuple, opReduce, opStop).bytes(), "os.system()"},
		{"protocol 3 bytes", newPB().proto(3).global("subprocess", "run").op(opShortBinBytes, 2).raw("id").op(opTuple1, opReduce, opStop).bytes(), "subprocess.run()"},
		{"protocol 5 framed", newPB().proto(5).op(opFrame).raw("\x10\x00\x00\x00\x00\x00\x00\x00").uni("nt").uni("system").op(opStackGlobal, opByteArray8).raw("\x00\x00\x00\x00\x00\x00\x00\x00").op(opTuple1, opReduce, opStop).bytes(), "nt.system()"},
		{"protocol 2 memo", newPB().proto(2).global("subprocess", "check_output").binput(0).op(opPop).binget(0).op(opMark).uni("id").op(opTuple, opReduce, opStop).bytes(), "subprocess.check_output()"},
		{"protocol 4 STACK_GLOBAL", newPB().proto(4).op(opFrame).raw(strings.Repeat("\x00", 8)).uni("builtins").op(opMemoize).uni("eval").op(opMemoize, opStackGlobal, opMemoize).uni("1+1").op(opTuple1, opReduce, opStop).bytes(), "builtins.eval()"},
		{"STACK_GLOBAL from protocol-0 STRING", newPB().proto(4).line(opString, "'os'").line(opString, `"sys\x74em"`).op(opStackGlobal).op(opEmptyTuple, opReduce, opStop).bytes(), "os.system()"},
		{"STACK_GLOBAL from UNICODE escapes", newPB().proto(4).line(opUnicode, `\u006fs`).line(opUnicode, "popen").op(opStackGlobal, opStop).bytes(), "os.popen"},
		{"STACK_GLOBAL operands from the memo", newPB().proto(4).uni("posix").binput(1).op(opPop).uni("system").binput(2).op(opPop).binget(1).binget(2).op(opStackGlobal, opStop).bytes(), "posix.system"},
		{"dotted name", newPB().proto(4).uni("pathlib").uni("os.system").op(opStackGlobal, opStop).bytes(), "pathlib.os.system"},
		{"NEWOBJ", newPB().proto(2).global("evil", "Thing").op(opEmptyTuple, opNewObj, opStop).bytes(), "evil.Thing()"},
		{"NEWOBJ_EX", newPB().proto(4).uni("evil").uni("Thing").op(opStackGlobal, opEmptyTuple, opEmptyDict, opNewObjEx, opStop).bytes(), "evil.Thing()"},
		{"OBJ", newPB().op(opMark).global("evil", "Thing").op(opObj, opStop).bytes(), "evil.Thing()"},
		{"dynamic STACK_GLOBAL", newPB().proto(4).global("builtins", "str").op(opEmptyTuple, opReduce).uni("system").op(opStackGlobal, opStop).bytes(), "builtins.str(),?.system?"},
		{"BUILD after a global", newPB().proto(2).global("collections", "OrderedDict").op(opEmptyTuple, opReduce, opEmptyDict, opBuild, opStop).bytes(), "collections.OrderedDict()"},
	}
	for _, tt := range tests {
		r := mustWalk(t, tt.b)
		if got := strings.Join(imports(r), ","); got != tt.want || r.Err != nil {
			t.Errorf("%s: imports %q, err %v; want %q", tt.name, got, r.Err, tt.want)
		}
	}
}

func TestSeveralPickles(t *testing.T) {
	benign := newPB().proto(2).op(opEmptyDict, opStop).bytes()
	evil := newPB().proto(2).global("os", "system").op(opStop).bytes()
	r := mustWalk(t, append(append(append([]byte{}, benign...), evil...), benign...))
	if r.Pickles != 3 || len(r.Imports) != 1 || r.Imports[0].Full() != "os.system" {
		t.Fatalf("pickles %d imports %v", r.Pickles, imports(r))
	}
	// Junk after a pickle is counted; the pickle before it is judged.
	r = mustWalk(t, append(append([]byte{}, evil...), "\xffjunk"...))
	if r.Pickles != 1 || r.TrailingBytes != 5 || len(r.Imports) != 1 {
		t.Fatalf("junk: %+v", r)
	}
	// A truncated pickle: what was read is kept, the break reported.
	trunc := newPB().proto(2).global("os", "system").op(opMark).uni("x").bytes()
	r = mustWalk(t, trunc)
	var pe *Error
	if !errors.As(r.Err, &pe) || !strings.Contains(pe.Msg, "truncated") || len(r.Imports) != 1 {
		t.Fatalf("truncated: %+v", r)
	}
	// A second pickle broken part-way is an error, not trailing bytes.
	r = mustWalk(t, append(append([]byte{}, benign...), trunc...))
	if r.Err == nil || r.TrailingBytes != 0 || len(r.Imports) != 1 {
		t.Fatalf("broken second pickle: %+v", r)
	}
}

func TestNotAPickle(t *testing.T) {
	for _, b := range [][]byte{[]byte("\xffhello"), []byte("PK\x03\x04"), {}} {
		r, err := Walk(bytes.NewReader(b), Limits{})
		if len(b) == 0 {
			if err != nil || r.Pickles != 0 {
				t.Errorf("empty input: %v %+v", err, r)
			}
			continue
		}
		if !errors.Is(err, ErrNotPickle) {
			t.Errorf("%q: err %v, want ErrNotPickle", b, err)
		}
	}
}

func TestLimits(t *testing.T) {
	// A stack deeper than the limit stops the walk with an error.
	p := newPB().proto(2)
	for range 100 {
		p.op(opNone)
	}
	r, _ := Walk(bytes.NewReader(p.op(opStop).bytes()), Limits{MaxStack: 50})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "stack deeper") {
		t.Fatalf("stack limit: %v", r.Err)
	}
	// Fan-out through DUP and the memo builds nothing: a billion-laughs
	// pickle walks in linear time and constant memory.
	p = newPB().proto(2).op(opEmptyList).binput(0)
	for range 10000 {
		p.binget(0).op(opDup, opAppend, opAppend)
	}
	r = mustWalk(t, p.op(opStop).bytes())
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	// A GET of a key never stored is malformed.
	r = mustWalk(t, newPB().proto(2).binget(7).op(opStop).bytes())
	if r.Err == nil || !strings.Contains(r.Err.Error(), "never stored") {
		t.Fatalf("bad memo key: %v", r.Err)
	}
}

func TestDataOpcodes(t *testing.T) {
	// Every kind of operand is read and skipped correctly: a benign pickle
	// using all of them imports nothing.
	p := newPB().proto(5).op(opMark)
	p.line(opInt, "42").line(opLong, "42L").line(opFloat, "1.5")
	p.op(opBinInt).raw("\x01\x00\x00\x00").op(opBinInt1, 7).op(opBinInt2, 1, 2).op(opBinFloat).raw(strings.Repeat("\x00", 8))
	p.op(opLong1, 2, 1, 2).op(opLong4).raw("\x01\x00\x00\x00\x05")
	p.op(opShortBinBytes, 3).raw("abc").op(opBinBytes).raw("\x02\x00\x00\x00zz")
	p.op(opBinBytes8).raw("\x01\x00\x00\x00\x00\x00\x00\x00q").op(opByteArray8).raw("\x01\x00\x00\x00\x00\x00\x00\x00q")
	p.op(opBinString).raw("\x01\x00\x00\x00s").op(opShortBinString, 1).raw("s")
	p.op(opBinUnicode8).raw("\x02\x00\x00\x00\x00\x00\x00\x00hi")
	p.op(opNone, opNewTrue, opNewFalse, opNextBuffer, opReadonlyBuffer)
	p.uni(strings.Repeat("long string with spaces ", 20))
	p.op(opTuple, opEmptySet, opMark, opNone, opAddItems, opMark, opNone, opFrozenSet)
	p.line(opPersID, "storage0").op(opNone, opBinPersID, opExt1, 1)
	p.op(opTuple3, opStop)
	r := mustWalk(t, p.bytes())
	if r.Err != nil || len(r.Imports) != 0 || r.Protocol != 5 || r.PersistentIDs != 2 || r.Extensions != 1 {
		t.Fatalf("%+v", r)
	}
}

// TestNamesSurviveCompaction memoizes a module and a name after dead
// names (so compaction moves them), buries
// them under megabytes of other names, live and dead, so that the arena
// is compacted many times, and then imports through them: the import
// must still be named what the pickle stored.
func TestNamesSurviveCompaction(t *testing.T) {
	p := newPB().proto(4)
	for i := range 100_000 {
		p.uni(fmt.Sprintf("dead_%06d_before_them", i)).op(opPop)
	}
	p.uni("os").op(opMemoize).uni("system").op(opMemoize, opPop, opPop)
	for i := range 200_000 {
		name := fmt.Sprintf("layer_%06d_weight_name", i)
		p.uni(name)
		if i%2 == 0 {
			p.op(opMemoize) // live: the memo holds it
		}
		p.op(opPop) // dead unless memoized
	}
	p.op(opLongBinGet).raw("\x00\x00\x00\x00").op(opLongBinGet).raw("\x01\x00\x00\x00")
	p.op(opStackGlobal).uni("id").op(opTuple1, opReduce, opStop)
	r := mustWalk(t, p.bytes())
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := imports(r); len(got) != 1 || got[0] != "os.system()" {
		t.Fatalf("imports = %v, want [os.system()]", got)
	}
}
