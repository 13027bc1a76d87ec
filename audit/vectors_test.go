package audit

import (
	"encoding/hex"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// RFC 6962 reference vectors (certificate-transparency and
// transparency-dev/merkle test data): leaves, the root of every tree size
// 0..8, and inclusion and consistency proofs in the tree of 8.
var (
	ctLeaves = []string{"", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"}
	ctRoots  = []string{
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	ctInclusion = []struct {
		index, size int64
		proof       []string
	}{
		{0, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
		{5, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	}
	ctConsistency = []struct {
		first, second int64
		proof         []string
	}{
		{2, 8, []string{
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
	}
)

// mapHashes is a HashReader over hashes kept in memory.
type mapHashes map[int64]tlog.Hash

func (m mapHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

func buildReference(t *testing.T) (*frontier, mapHashes) {
	f, stored := &frontier{}, mapHashes{}
	for i, h := range ctLeaves {
		data, _ := hex.DecodeString(h)
		root, err := f.root()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(root[:]); got != ctRoots[i] {
			t.Fatalf("root of %d leaves: %s, RFC 6962 says %s", i, got, ctRoots[i])
		}
		idx, hs, err := f.append(tlog.RecordHash(data))
		if err != nil {
			t.Fatal(err)
		}
		for j := range idx {
			stored[idx[j]] = hs[j]
		}
	}
	root, _ := f.root()
	if hex.EncodeToString(root[:]) != ctRoots[8] {
		t.Fatalf("root of 8 leaves: %x", root)
	}
	return f, stored
}

func TestRFC6962Roots(t *testing.T) {
	f, stored := buildReference(t)
	// The frontier and the full store of hashes agree on the root.
	full, err := tlog.TreeHash(8, stored)
	if err != nil || full != mustRoot(t, f) {
		t.Fatalf("TreeHash over stored hashes %x, frontier %x", full, mustRoot(t, f))
	}
}

func mustRoot(t *testing.T, f *frontier) tlog.Hash {
	r, err := f.root()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRFC6962Proofs(t *testing.T) {
	_, stored := buildReference(t)
	root := mustRoot(t, func() *frontier { f, _ := buildReference(t); return f }())
	for _, v := range ctInclusion {
		p, err := tlog.ProveRecord(v.size, v.index, stored)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != len(v.proof) {
			t.Fatalf("inclusion %d in %d: %d hashes, want %d", v.index, v.size, len(p), len(v.proof))
		}
		for i := range p {
			if hex.EncodeToString(p[i][:]) != v.proof[i] {
				t.Errorf("inclusion %d in %d, hash %d: %x, want %s", v.index, v.size, i, p[i], v.proof[i])
			}
		}
		data, _ := hex.DecodeString(ctLeaves[v.index])
		if err := tlog.CheckRecord(p, v.size, root, v.index, tlog.RecordHash(data)); err != nil {
			t.Errorf("inclusion %d: %v", v.index, err)
		}
		other, _ := hex.DecodeString(ctLeaves[(v.index+1)%8])
		if tlog.CheckRecord(p, v.size, root, v.index, tlog.RecordHash(other)) == nil {
			t.Errorf("inclusion %d verified for another leaf", v.index)
		}
	}
	for _, v := range ctConsistency {
		p, err := tlog.ProveTree(v.second, v.first, stored)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != len(v.proof) {
			t.Fatalf("consistency %d->%d: %d hashes, want %d", v.first, v.second, len(p), len(v.proof))
		}
		for i := range p {
			if hex.EncodeToString(p[i][:]) != v.proof[i] {
				t.Errorf("consistency hash %d: %x, want %s", i, p[i], v.proof[i])
			}
		}
		old, _ := hex.DecodeString(ctRoots[v.first])
		if err := tlog.CheckTree(p, v.second, root, v.first, tlog.Hash(old)); err != nil {
			t.Errorf("consistency: %v", err)
		}
	}
}

// TestFrontierMatchesFullTree grows a tree to many sizes and checks that
// the frontier's root always equals the root from every stored hash.
func TestFrontierMatchesFullTree(t *testing.T) {
	f, stored := &frontier{}, mapHashes{}
	for n := int64(0); n < 300; n++ {
		idx, hs, err := f.append(tlog.RecordHash([]byte{byte(n), byte(n >> 8)}))
		if err != nil {
			t.Fatal(err)
		}
		for j := range idx {
			stored[idx[j]] = hs[j]
		}
		want, err := tlog.TreeHash(n+1, stored)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRoot(t, f); got != want {
			t.Fatalf("size %d: frontier root %x, full tree %x", n+1, got, want)
		}
		// A frontier loaded from storage continues identically.
		g, err := loadFrontier(n+1, func(ix []int64) ([][]byte, error) {
			hs, _ := stored.ReadHashes(ix)
			out := make([][]byte, len(hs))
			for i := range hs {
				out[i] = hs[i][:]
			}
			return out, nil
		})
		if err != nil || mustRoot(t, g) != want {
			t.Fatalf("size %d: reloaded frontier differs", n+1)
		}
	}
}
