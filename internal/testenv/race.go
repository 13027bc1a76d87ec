//go:build race

package testenv

// RaceEnabled reports whether the binary was built with -race, which slows
// code five to twenty times: tests about real time, or that redo long
// deterministic work, skip under it.
const RaceEnabled = true
