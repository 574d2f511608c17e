//go:build !unix

package testbin

// lockFile does not lock where flock is missing: two test binaries may then
// build the same executable at once, and the second rename wins (both
// builds are the same).
func lockFile(string) (func(), error) { return func() {}, nil }
