package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// wantRefusal fails unless err is an application error with reason (or,
// for rate limits, the code) and, when retry > 0, that Retry-After.
func wantRefusal(t *testing.T, what string, err error, reason string, retry time.Duration) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("%s: %v, want %s", what, err, reason)
	}
	got := e.Reason
	if got == "" {
		got = string(e.Code)
	}
	if got != reason || (retry > 0 && e.RetryAfter != retry) {
		t.Fatalf("%s: %s (retry after %s), want %s (retry after %s)", what, got, e.RetryAfter, reason, retry)
	}
}

// TestLoginSlowdownLetsSecondFactorThrough: after auth.login_limit failed
// logins an account is slowed down, not locked: attempts without a second
// factor wait (30 s, doubling), an early attempt with a wrong password and
// a right code learns nothing, and the owner's right password with a right
// TOTP code gets in at once. A user without two-factor waits the slowdown
// out.
func TestLoginSlowdownLetsSecondFactorThrough(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		b := setupWith(t, db, c)
		ctx := context.Background()
		for _, email := range []string{"owner@example.com", "plain@example.com"} {
			if _, _, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: email, Password: password}); err != nil {
				t.Fatal(err)
			}
		}
		login := func(email, pw, code string) error {
			_, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: email, Password: pw, TOTPCode: code})
			return err
		}
		sess, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: "owner@example.com", Password: password})
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
		if _, err := b.accounts.ConfirmTOTP(ctx, p, codeAt(t, enr.Secret, c.Now())); err != nil {
			t.Fatal(err)
		}

		for range 3 {
			wantRefusal(t, "bad password", login("owner@example.com", "wrong password!", ""), "invalid_credentials", 0)
			c.Advance(time.Second)
		}
		// The third failure (at +2 s) slows the account down for 30 s.
		wantRefusal(t, "password alone while slowed", login("owner@example.com", password, ""), "rate_limited", 29*time.Second)
		wantRefusal(t, "wrong password with a right code while slowed",
			login("owner@example.com", "wrong password!", codeAt(t, enr.Secret, c.Now())), "rate_limited", time.Minute)
		// The owner, with the password and the authenticator, is not locked out.
		if err := login("owner@example.com", password, codeAt(t, enr.Secret, c.Now().Add(30*time.Second))); err != nil {
			t.Fatalf("password and TOTP while slowed: %v", err)
		}
		// Success forgets the failures.
		wantRefusal(t, "after success", login("owner@example.com", password, ""), "totp_required", 0)

		for range 3 {
			wantRefusal(t, "bad password", login("plain@example.com", "wrong password!", ""), "invalid_credentials", 0)
		}
		wantRefusal(t, "right password while slowed", login("plain@example.com", password, ""), "rate_limited", 30*time.Second)
		wantRefusal(t, "a code without two-factor while slowed", login("plain@example.com", password, "123456"), "rate_limited", 30*time.Second)
		c.Advance(30 * time.Second)
		if err := login("plain@example.com", password, ""); err != nil {
			t.Fatalf("after the slowdown: %v", err)
		}

		var reasons []string
		if err := db.NewSelect().Model((*audit.Record)(nil)).ColumnExpr("changes").Where("action = ?", "auth.login").
			Where("result = ?", audit.Failure).Where("changes LIKE ?", "%slowed%").Scan(ctx, &reasons); err != nil {
			t.Fatal(err)
		}
		if len(reasons) != 3 {
			t.Errorf("%d slowed refusals audited, want 3: %v", len(reasons), reasons)
		}
	})
}

// TestResetEmailsPerRecipientAreLimited: beyond auth.reset_email_limit
// reset links per recipient per window nothing is sent, the caller sees the
// same answer, and one denied event records it; the next window sends
// again.
func TestResetEmailsPerRecipientAreLimited(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		c := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		b := setupWith(t, db, c)
		ctx := context.Background()
		if _, _, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: "ada@example.com", Password: password}); err != nil {
			t.Fatal(err)
		}
		resets := func() int {
			t.Helper()
			n := 0
			for _, m := range b.messages(t) {
				if m == "account.password_reset ada@example.com" {
					n++
				}
			}
			return n
		}
		for range 5 {
			if err := b.accounts.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		if n := resets(); n != 2 {
			t.Errorf("%d reset emails queued for 5 requests, want the limit of 2", n)
		}
		n, err := db.NewSelect().Model((*audit.Record)(nil)).Where("action = ?", "user.password.reset_requested").
			Where("result = ?", audit.Denied).Count(ctx)
		if err != nil || n != 1 {
			t.Errorf("%d denied reset events (%v), want 1", n, err)
		}
		c.Advance(time.Hour)
		if err := b.accounts.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}
		if n := resets(); n != 3 {
			t.Errorf("%d reset emails after the window, want 3", n)
		}
	})
}
