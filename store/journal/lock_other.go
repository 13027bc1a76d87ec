//go:build !unix

package journal

import (
	"errors"
	"os"
)

// tryLock fails where flock is missing: a journal needs it to tell a live
// writer from a dead one.
func tryLock(f *os.File) (bool, error) {
	return false, errors.New("journal: file locks are not supported on this system")
}

func unlock(f *os.File) {}
