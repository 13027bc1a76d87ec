//go:build !linux

package inventory

import "os"

// openDir lists a directory; files are then opened by path (fd -1).
func openDir(path string) (int, []dirEntry, error) {
	des, err := os.ReadDir(path)
	ents := make([]dirEntry, 0, len(des))
	for _, d := range des {
		ents = append(ents, dirEntry{name: d.Name(), typ: d.Type()})
	}
	return -1, ents, err
}

func closeDir(int) {}
