package accounts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a secrets key: AES-256.
const KeySize = 32

// sealedPrefix starts every sealed value; a stored secret without it is a
// plaintext one from before encryption at rest.
const sealedPrefix = "ezs1:"

// Keyring seals secrets kept in the database (TOTP secrets) with AES-256-GCM
// under its current key, and opens values sealed under the current key or
// any previous one, so keys can be rotated without a moment where some
// replica cannot read: run every replica with the new key and the old one as
// previous, re-seal (`ezscale secrets rotate`), then drop the old key.
//
// A sealed value is "ezs1:<key id>:<base64url(nonce || ciphertext)>"; the key
// id is a short hash of the key, so the value names the key that opens it.
// Each value is bound to its row and purpose by additional data ("totp:" +
// user id), so a sealed secret copied to another user does not open.
type Keyring struct {
	current  sealKey
	previous []sealKey
}

type sealKey struct {
	id   string
	aead cipher.AEAD
}

func newSealKey(raw []byte) (sealKey, error) {
	if len(raw) != KeySize {
		return sealKey{}, fmt.Errorf("a secrets key is %d bytes, got %d", KeySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return sealKey{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return sealKey{}, err
	}
	sum := sha256.Sum256(append([]byte("ezscale secrets key id\x00"), raw...))
	return sealKey{id: hex.EncodeToString(sum[:4]), aead: aead}, nil
}

// NewKeyring returns a keyring sealing under current and opening under
// current and previous.
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	cur, err := newSealKey(current)
	if err != nil {
		return nil, err
	}
	k := &Keyring{current: cur}
	for _, p := range previous {
		pk, err := newSealKey(p)
		if err != nil {
			return nil, err
		}
		if pk.id != cur.id {
			k.previous = append(k.previous, pk)
		}
	}
	return k, nil
}

// ParseKey decodes a secrets key written as base64 (standard or URL
// alphabet, padded or not) of 32 random bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("a secrets key is base64 of %d bytes, this one has %d", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("a secrets key is base64 of 32 random bytes (generate one with `ezscale secrets generate`)")
}

// GenerateKey returns a new random key, base64-encoded.
func GenerateKey() string {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("accounts: crypto/rand failed: %v", err))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// KeyID names the current key (a short hash; safe to log).
func (k *Keyring) KeyID() string { return k.current.id }

// Seal encrypts plaintext under the current key, bound to aad.
func (k *Keyring) Seal(plaintext, aad string) string {
	nonce := make([]byte, k.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("accounts: crypto/rand failed: %v", err))
	}
	ct := k.current.aead.Seal(nonce, nonce, []byte(plaintext), []byte(aad))
	return sealedPrefix + k.current.id + ":" + base64.RawURLEncoding.EncodeToString(ct)
}

var errUnsealable = errors.New("accounts: a sealed secret does not open with any configured key")

// Open decrypts a value sealed under the current or a previous key.
func (k *Keyring) Open(sealed, aad string) (string, error) {
	id, body, ok := strings.Cut(strings.TrimPrefix(sealed, sealedPrefix), ":")
	if !ok || !strings.HasPrefix(sealed, sealedPrefix) {
		return "", errors.New("accounts: not a sealed secret")
	}
	ct, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return "", errUnsealable
	}
	for _, key := range append([]sealKey{k.current}, k.previous...) {
		if key.id != id || len(ct) < key.aead.NonceSize() {
			continue
		}
		n := key.aead.NonceSize()
		pt, err := key.aead.Open(nil, ct[:n], ct[n:], []byte(aad))
		if err != nil {
			return "", errUnsealable
		}
		return string(pt), nil
	}
	return "", fmt.Errorf("%w (sealed under key %s; add it to auth.secrets_previous_keys)", errUnsealable, id)
}

// isSealed reports whether a stored value is sealed (else it is a
// plaintext value from before encryption at rest).
func isSealed(v string) bool { return strings.HasPrefix(v, sealedPrefix) }

// sealedUnderCurrent reports whether v is sealed under the current key.
func (k *Keyring) sealedUnderCurrent(v string) bool {
	return strings.HasPrefix(v, sealedPrefix+k.current.id+":")
}
