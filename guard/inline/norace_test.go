//go:build !race

package inline

const raceEnabled = false
