//go:build race

package inline

const raceEnabled = true
