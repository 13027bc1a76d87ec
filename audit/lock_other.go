//go:build !unix

package audit

import "os"

// lockDir creates dir; on systems without flock, DirWitness.mu alone
// orders check-and-store, within one process.
func lockDir(dir string) (func(), error) {
	return func() {}, os.MkdirAll(dir, 0o700)
}
