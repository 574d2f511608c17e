package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/ratelimit"
)

// withKeys is the bundle's service over the same database with other keys
// (nil current: no keyring).
func (b *testBundle) withKeys(t *testing.T, current []byte, previous ...[]byte) *accounts.Service {
	t.Helper()
	opts := b.opts
	opts.Secrets = nil
	if current != nil {
		k, err := accounts.NewKeyring(current, previous...)
		if err != nil {
			t.Fatal(err)
		}
		opts.Secrets = k
	}
	return accounts.New(b.db, b.notify, ratelimit.New(b.db), opts)
}

func (b *testBundle) storedSecret(t *testing.T, email string) string {
	t.Helper()
	var v string
	if err := b.db.NewSelect().Table("users").Column("totp_secret").Where("email = ?", email).Scan(context.Background(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestTOTPSecretsAreSealedAtRest: a new TOTP secret is stored sealed (not
// readable in the database), a plaintext one from before is sealed by
// SealSecrets and keeps working, a rotation re-seals under the new key while
// the previous key still opens, the old key alone no longer does, a sealed
// secret copied to another user does not open, and without a key start-up
// refuses while secrets exist.
func TestTOTPSecretsAreSealedAtRest(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		b := setupWith(t, db, c)
		ctx := context.Background()
		login := func(svc *accounts.Service, email, secret string, at time.Time) error {
			code, err := totp.GenerateCode(secret, at)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = svc.Login(ctx, accounts.LoginInput{Email: email, Password: password, TOTPCode: code})
			return err
		}
		for _, email := range []string{"ada@example.com", "old@example.com"} {
			if _, _, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: email, Password: password}); err != nil {
				t.Fatal(err)
			}
		}
		sess, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: "ada@example.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.accounts.Authenticate(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		enr, err := b.accounts.EnrollTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if stored := b.storedSecret(t, "ada@example.com"); !strings.HasPrefix(stored, "ezs1:") || strings.Contains(stored, enr.Secret) {
			t.Fatalf("stored secret %q is not sealed", stored)
		}
		code, _ := totp.GenerateCode(enr.Secret, c.Now())
		if _, err := b.accounts.ConfirmTOTP(ctx, p, code); err != nil {
			t.Fatal(err)
		}

		// A secret stored in plaintext before encryption at rest.
		const plain = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
		if _, err := db.NewUpdate().Table("users").Set("totp_secret = ?", plain).Set("totp_enabled = ?", true).
			Where("email = ?", "old@example.com").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := b.accounts.SealSecrets(ctx, false); err != nil || n != 1 {
			t.Fatalf("sealing plaintext: %d, %v; want 1", n, err)
		}
		if stored := b.storedSecret(t, "old@example.com"); !strings.HasPrefix(stored, "ezs1:") || strings.Contains(stored, plain) {
			t.Fatalf("plaintext secret not sealed: %q", stored)
		}
		if err := login(b.accounts, "old@example.com", plain, c.Now().Add(30*time.Second)); err != nil {
			t.Fatalf("login with a formerly plaintext secret: %v", err)
		}

		// Rotation: new key current, old key previous.
		newKey := []byte("fedcba9876543210fedcba9876543210")
		both := b.withKeys(t, newKey, testKey)
		if err := login(both, "ada@example.com", enr.Secret, c.Now().Add(30*time.Second)); err != nil {
			t.Fatalf("login under the new key with the old one previous: %v", err)
		}
		if n, err := both.SealSecrets(ctx, true); err != nil || n != 2 {
			t.Fatalf("rotating: %d, %v; want 2", n, err)
		}
		if n, err := both.SealSecrets(ctx, true); err != nil || n != 0 {
			t.Fatalf("rotating again: %d, %v; want 0", n, err)
		}
		if err := login(b.withKeys(t, newKey), "ada@example.com", enr.Secret, c.Now().Add(60*time.Second)); err == nil {
			// 60 s ahead is outside the skew window: refused as a code,
			// which shows the secret opened (no internal error).
			t.Error("a code two steps ahead was accepted")
		} else if !strings.Contains(err.Error(), "invalid_totp") {
			t.Errorf("after rotation, with the new key alone: %v", err)
		}
		if err := login(b.withKeys(t, testKey), "ada@example.com", enr.Secret, c.Now().Add(60*time.Second)); err == nil || strings.Contains(err.Error(), "invalid_totp") {
			t.Errorf("after rotation, with the old key alone: %v, want the secret not to open", err)
		}

		// A sealed secret copied to another user does not open for them.
		if _, err := db.NewUpdate().Table("users").Set("totp_secret = ?", b.storedSecret(t, "ada@example.com")).
			Where("email = ?", "old@example.com").Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := login(b.withKeys(t, newKey), "old@example.com", enr.Secret, c.Now().Add(60*time.Second)); err == nil || strings.Contains(err.Error(), "invalid_totp") {
			t.Errorf("a secret copied from another user: %v, want it not to open", err)
		}

		if _, err := b.withKeys(t, nil).SealSecrets(ctx, false); err == nil || !strings.Contains(err.Error(), "auth.secrets_key") {
			t.Errorf("no key while secrets exist: %v, want an error naming auth.secrets_key", err)
		}
	})
}
