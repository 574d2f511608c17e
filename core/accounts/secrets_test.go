package accounts

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	t.Parallel()
	h, err := hashPasswordWith(owaspArgon, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q does not carry the OWASP parameters", h)
	}
	for pw, want := range map[string]bool{"correct horse battery": true, "correct horse batterY": false, "": false} {
		if ok, err := CheckPassword(h, pw); err != nil || ok != want {
			t.Errorf("CheckPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
}

// TestTestBinariesHashCheaply: in a test binary HashPassword uses the cheap
// parameters, in the same format, and its hashes verify like any other. The
// real binary's hashes carry the OWASP ones (tests/, TestServeEndToEnd).
func TestTestBinariesHashCheaply(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash %q does not carry the test binaries' parameters", h)
	}
	if ok, err := CheckPassword(h, "correct horse battery"); err != nil || !ok {
		t.Errorf("CheckPassword = %v, %v; want true", ok, err)
	}
}

// TestDummyHashCostsWhatAPasswordDoes: the hash an unknown user's login is
// checked against names the parameters real hashes are made with (so the
// check runs the same argon2), is well formed (so the check runs at all),
// and matches no password.
func TestDummyHashCostsWhatAPasswordDoes(t *testing.T) {
	t.Parallel()
	real, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if params(dummyHash) != params(real) {
		t.Errorf("dummy hash %q, real hash %q: the parameters differ", dummyHash, real)
	}
	for _, pw := range []string{"", "not-a-real-password", "correct horse battery"} {
		if ok, err := CheckPassword(dummyHash, pw); err != nil || ok {
			t.Errorf("CheckPassword(dummyHash, %q) = %v, %v; want false, nil", pw, ok, err)
		}
	}
}

// FuzzCheckPassword: a damaged stored hash is an error, never a panic or an
// unbounded allocation.
func FuzzCheckPassword(f *testing.F) {
	good, _ := HashPassword("seed password")
	for _, s := range []string{
		good, "", "$argon2id$", "$argon2id$v=19$m=19456,t=0,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=19456,t=2,p=0$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=4294967295,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=18$m=1,t=1,p=1$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, hash string) {
		ok, err := CheckPassword(hash, "seed password")
		if err != nil && !errors.Is(err, errBadHash) {
			t.Fatalf("unexpected error %v", err)
		}
		if ok && err != nil {
			t.Fatal("match reported with an error")
		}
	})
}

func FuzzNormalizeRecoveryCode(f *testing.F) {
	for _, s := range []string{"abcde-fghij", "ABCDEFGHIJ", " abcde fghij ", "", "é", "abcdefghi\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeRecoveryCode(s)
		if normalizeRecoveryCode(n) != n {
			t.Fatalf("normalizing %q is not idempotent: %q then %q", s, n, normalizeRecoveryCode(n))
		}
	})
}
