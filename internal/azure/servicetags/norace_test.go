package servicetags

var raceEnabled = false
