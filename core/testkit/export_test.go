package testkit

// EphemeralLow is ephemeralLow, for the tests.
var EphemeralLow = ephemeralLow
