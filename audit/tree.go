package audit

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// frontier holds, for each level of the tree, the newest complete node.
// That is everything appending a leaf (tlog.StoredHashesForRecordHash) or
// hashing the whole tree (tlog.TreeHash) ever reads, so the writer never
// goes to storage for either: log2(N) hashes instead of the whole tree.
type frontier struct {
	size  int64
	nodes []frontierNode // by level
}

type frontierNode struct {
	n    int64 // node index within its level
	hash tlog.Hash
}

// frontierIndexes are the stored-hash indexes of the frontier of a tree of
// size n: at each level L, node n>>L - 1.
func frontierIndexes(n int64) []int64 {
	var idx []int64
	for level := 0; n>>level > 0; level++ {
		idx = append(idx, tlog.StoredHashIndex(level, n>>level-1))
	}
	return idx
}

// loadFrontier builds the frontier of a tree of size n from stored hashes.
func loadFrontier(n int64, read func([]int64) ([][]byte, error)) (*frontier, error) {
	f := &frontier{size: n}
	idx := frontierIndexes(n)
	if len(idx) == 0 {
		return f, nil
	}
	hashes, err := read(idx)
	if err != nil {
		return nil, err
	}
	for level, h := range hashes {
		if len(h) != tlog.HashSize {
			return nil, fmt.Errorf("audit: stored hash %d has %d bytes", idx[level], len(h))
		}
		f.nodes = append(f.nodes, frontierNode{n: n>>level - 1, hash: tlog.Hash(h)})
	}
	return f, nil
}

func (f *frontier) clone() *frontier {
	return &frontier{size: f.size, nodes: append([]frontierNode(nil), f.nodes...)}
}

// ReadHashes implements tlog.HashReader from the frontier alone.
func (f *frontier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, n := tlog.SplitStoredHashIndex(idx)
		if level >= len(f.nodes) || f.nodes[level].n != n {
			return nil, fmt.Errorf("audit: hash %d (level %d, node %d) is not on the frontier of a tree of %d", idx, level, n, f.size)
		}
		out[i] = f.nodes[level].hash
	}
	return out, nil
}

// append adds a leaf and returns the stored-hash indexes and hashes to
// persist for it.
func (f *frontier) append(leaf tlog.Hash) ([]int64, []tlog.Hash, error) {
	n := f.size
	hashes, err := tlog.StoredHashesForRecordHash(n, leaf, f)
	if err != nil {
		return nil, nil, err
	}
	// hashes[k] is the node at level k, index n>>k, completed by this leaf.
	idx := make([]int64, len(hashes))
	for level, h := range hashes {
		idx[level] = tlog.StoredHashIndex(level, n>>level)
		node := frontierNode{n: n >> level, hash: h}
		if level < len(f.nodes) {
			f.nodes[level] = node
		} else {
			f.nodes = append(f.nodes, node)
		}
	}
	f.size++
	return idx, hashes, nil
}

// root returns the tree hash.
func (f *frontier) root() (tlog.Hash, error) { return tlog.TreeHash(f.size, f) }
