package accounts

import "testing"

// BenchmarkHashPassword is the cost of one argon2id hash with the OWASP
// parameters (19 MiB, 2 passes, 1 lane): paid at signup, password change and
// reset.
func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := hashPasswordWith(owaspArgon, "correct horse battery"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckPassword is the cost of verifying one password: paid at
// every login attempt (also for unknown users, against a dummy hash).
func BenchmarkCheckPassword(b *testing.B) {
	h, err := hashPasswordWith(owaspArgon, "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := CheckPassword(h, "correct horse battery"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
