//go:build race

package servicetags

func init() { raceEnabled = true }
