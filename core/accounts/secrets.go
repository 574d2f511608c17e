package accounts

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters. They are stored in each hash, so raising them later
// only affects new hashes, and CheckPassword verifies a hash with its own.
type argonParams struct {
	memoryKiB uint32
	time      uint32
	threads   uint8
	keyLen    uint32
	saltLen   int
}

// owaspArgon is what every password is hashed with: OWASP's recommended
// minimum (19 MiB, 2 passes, 1 lane).
var owaspArgon = argonParams{memoryKiB: 19 * 1024, time: 2, threads: 1, keyLen: 32, saltLen: 16}

// testArgon is what a Go test binary hashes with instead: the same
// algorithm and format at the smallest cost. Under the race detector every
// 19 MiB hash maps and clears shadow memory for the whole block, and the
// tests sign up and log in hundreds of users, so the production cost was
// more than half of the HTTP API's tests' time (docs/benchmarks.md, "Test
// suite time"). A test asserts behaviour, not hashing cost: the password
// tests check owaspArgon directly, and tests/, which runs the real binary,
// checks that a stored hash carries it.
var testArgon = argonParams{memoryKiB: 64, time: 1, threads: 1, keyLen: 32, saltLen: 16}

// passwordParams is testArgon in a test binary and owaspArgon everywhere
// else: testing.Testing is false in every binary `go build` makes, and no
// flag, setting or environment variable can change it.
func passwordParams() argonParams {
	if testing.Testing() {
		return testArgon
	}
	return owaspArgon
}

// HashPassword returns a PHC-format argon2id hash of password.
func HashPassword(password string) (string, error) {
	return hashPasswordWith(passwordParams(), password)
}

func hashPasswordWith(p argonParams, password string) (string, error) {
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("accounts: salt: %w", err)
	}
	return encodeHash(p, salt, argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, p.threads, p.keyLen)), nil
}

// encodeHash writes a hash in the PHC format.
func encodeHash(p argonParams, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memoryKiB, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

var errBadHash = errors.New("accounts: malformed password hash")

// Bounds on the parameters CheckPassword accepts from a stored hash: far
// above today's, far below what would exhaust the machine.
const (
	maxArgonTime      = 16
	maxArgonMemoryKiB = 1 << 20 // 1 GiB
)

// CheckPassword reports whether password matches the PHC hash, in constant
// time with respect to the key.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var p argonParams
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memoryKiB, &p.time, &p.threads); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, errBadHash
	}
	// A damaged or planted hash must not make argon2 panic (zero passes or
	// lanes) or allocate without bound.
	if p.time < 1 || p.time > maxArgonTime || p.threads < 1 || p.memoryKiB < 8*uint32(p.threads) || p.memoryKiB > maxArgonMemoryKiB ||
		len(salt) < 8 || len(want) < 16 || len(want) > 128 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memoryKiB, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified against when a login names an unknown user, so the
// response takes as long as for a known one: checking a password costs
// the argon2 run its parameters name, whatever the key. Its key is zeros,
// which no password derives in practice, so it is written, not hashed:
// hashing it cost every process 40 ms at start, in every CLI command.
var dummyHash = func() string {
	p := passwordParams()
	return encodeHash(p, make([]byte, p.saltLen), make([]byte, p.keyLen))
}()

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Token prefixes make leaked tokens recognisable to secret scanners.
const (
	prefixSession  = "ezs_sess_"
	prefixPersonal = "ezs_pat_"
	prefixOneTime  = "ezs_otk_"
)

// newSecret returns prefix + 160 random bits, base32: more than the 128 bits
// the contract asks for.
func newSecret(prefix string) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("accounts: crypto/rand failed: %v", err))
	}
	return prefix + tokenEncoding.EncodeToString(b)
}

// hashSecret is how tokens, one-time links and recovery codes are stored.
func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// newRecoveryCode returns a code like "k4f7q-2mzx9" (50 bits).
func newRecoveryCode() string {
	b := make([]byte, 7)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("accounts: crypto/rand failed: %v", err))
	}
	s := tokenEncoding.EncodeToString(b)[:10]
	return s[:5] + "-" + s[5:]
}

// normalizeRecoveryCode accepts a code typed as "K4F7Q 2MZX9" or
// "k4f7q2mzx9". Codes are ASCII; anything else is left for the hash lookup
// to refuse.
func normalizeRecoveryCode(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "")
	b := []byte(s)
	plain := true
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		default:
			plain = false
		}
	}
	s = string(b)
	if plain && len(s) == 10 {
		s = s[:5] + "-" + s[5:]
	}
	return s
}
