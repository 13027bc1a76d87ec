//go:build race

package guarding

const raceEnabled = true
