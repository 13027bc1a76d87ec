package modelscan

import (
	"encoding/binary"
	"testing"
)

// ggufFile builds a GGUF v3 file with the given chat template and one
// 4-float tensor at tensorOffset.
func ggufFile(template string, tensorOffset uint64) []byte {
	b := []byte("GGUF")
	u32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	u64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	str := func(s string) { u64(uint64(len(s))); b = append(b, s...) }
	u32(3)
	u64(1) // tensors
	u64(4) // metadata
	str("general.architecture")
	u32(ggufString)
	str("llama")
	str("general.alignment")
	u32(ggufU32)
	u32(32)
	str("tokenizer.ggml.tokens")
	u32(ggufArray)
	u32(ggufString)
	u64(3)
	str("<s>")
	str("hello")
	str("world")
	str("tokenizer.chat_template")
	u32(ggufString)
	str(template)
	str("output.weight")
	u32(1)
	u64(4)
	u32(0)
	u64(tensorOffset)
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return append(b, make([]byte, 16)...)
}

func TestGGUF(t *testing.T) {
	benign := "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
	if ids, _, _ := scan(t, "model.gguf", ggufFile(benign, 0)); len(ids) != 0 {
		t.Errorf("benign GGUF: %v", ids)
	}
	for name, tmpl := range map[string]string{
		"subclasses": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
		"globals":    "{{ self.__init__.__globals__.__builtins__['__import__']('os').popen('id').read() }}",
		"cycler":     "{{ cycler.__init__.__globals__.os.popen('id') }}",
		"attr":       "{{ request|attr('application')|attr('__globals__') }}",
	} {
		if ids, _, _ := scan(t, name+".gguf", ggufFile(tmpl, 0)); !has(ids, "MS502") {
			t.Errorf("%s: %v", name, ids)
		}
	}
	// A tensor placed past the end of the file, and a string length past it.
	if ids, _, _ := scan(t, "past.gguf", ggufFile(benign, 1<<20)); !has(ids, "MS501") {
		t.Errorf("tensor past the end: %v", ids)
	}
	b := ggufFile(benign, 0)
	binary.LittleEndian.PutUint64(b[24:], 1<<40) // the first key's length
	if ids, _, _ := scan(t, "long.gguf", b); !has(ids, "MS501") {
		t.Errorf("oversized string: %v", ids)
	}
	if ids, _, _ := scan(t, "misaligned.gguf", ggufFile(benign, 4)); !has(ids, "MS501") {
		t.Errorf("misaligned tensor: %v", ids)
	}
}
