package accounts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/testkit"
)

type testBundle struct {
	db       *database.DB
	accounts *accounts.Service
	notify   *notify.Service
	opts     accounts.Options
}

// testKey seals two-factor secrets in the tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func setup(t *testing.T, db *database.DB) *testBundle {
	t.Helper()
	return setupWith(t, db, nil)
}

// setupWith is setup on the clock c (nil: the wall clock).
func setupWith(t *testing.T, db *database.DB, c *testkit.Clock) *testBundle {
	t.Helper()
	reg := jobs.NewRegistry(time.Hour)
	svc, err := notify.New(db, reg, notify.Options{PublicURL: "https://billing.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	if _, err := jobs.New(db, reg, jobs.Options{Workers: 1, FetchCooldown: time.Second, FetchPollInterval: time.Second, RescueAfter: time.Hour, DefaultTimeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	limiter := ratelimit.New(db)
	keyring, err := accounts.NewKeyring(testKey)
	if err != nil {
		t.Fatal(err)
	}
	opts := accounts.Options{
		SessionTTL: time.Hour, LoginLimit: 100, LoginWindow: time.Minute, SignupLimit: 100, ResetTokenTTL: time.Hour,
		TOTPIssuer: "test", PublicURL: "https://billing.example.com", Secrets: keyring,
	}
	if c != nil {
		limiter = limiter.WithClock(c.Now)
		opts.Now = c.Now
		opts.LoginLimit, opts.LoginWindow = 3, 15*time.Minute
		opts.ResetEmailLimit, opts.ResetEmailWindow = 2, time.Hour
	}
	acc := accounts.New(db, svc, limiter, opts)
	return &testBundle{db: db, accounts: acc, notify: svc, opts: opts}
}

// messages returns the (template, recipient) of every queued message.
func (b *testBundle) messages(t *testing.T) []string {
	t.Helper()
	var ms []outbox.Message
	if err := b.db.NewSelect().Model(&ms).Order("created_at", "id").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Template + " " + m.Recipient
	}
	return out
}

func (b *testBundle) inApp(t *testing.T) []string {
	t.Helper()
	var types []string
	if err := b.db.NewSelect().TableExpr("notifications AS n").Join("JOIN notification_events AS e ON e.id = n.event_id").
		ColumnExpr("e.type").OrderExpr("n.seq").Scan(context.Background(), &types); err != nil {
		t.Fatal(err)
	}
	return types
}

const password = "correct horse battery"

// TestSecurityNotifications: identity events reach the user through the
// notification service: verification and reset links by email (rendered
// from its templates), and security notices by email and in-app.
func TestSecurityNotifications(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorUser, IP: "198.51.100.4", UserAgent: "test"})
		_, _, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: "ada@example.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		var verify outbox.Message
		if err := db.NewSelect().Model(&verify).Where("template = ?", "account.verify_email").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if verify.Subject != "Confirm your email address" || !strings.Contains(verify.BodyText, "https://billing.example.com/verify-email?token=") ||
			!strings.Contains(verify.BodyHTML, `href="https://billing.example.com/verify-email?token=`) {
			t.Errorf("verification mail: %q\n%s\n%s", verify.Subject, verify.BodyText, verify.BodyHTML)
		}

		login := func(ip string) *accounts.Principal {
			t.Helper()
			sess, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: "ada@example.com", Password: password, IP: ip, UserAgent: "test"})
			if err != nil {
				t.Fatal(err)
			}
			p, err := b.accounts.Authenticate(ctx, sess.Token)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		p := login("192.0.2.1") // the first sign-in is not news
		login("192.0.2.1")      // nor one from a known address
		login("203.0.113.9")    // this one is
		if err := b.accounts.ChangePassword(ctx, p, password, password+"!"); err != nil {
			t.Fatal(err)
		}
		enr, err := b.accounts.EnrollTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		code, err := totp.GenerateCode(enr.Secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		codes, err := b.accounts.ConfirmTOTP(ctx, p, code)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.accounts.DisableTOTP(ctx, p, password+"!", codes[0]); err != nil {
			t.Fatal(err)
		}
		if err := b.accounts.RequestPasswordReset(ctx, "ada@example.com"); err != nil {
			t.Fatal(err)
		}

		want := []string{
			"account.verify_email ada@example.com",
			"security.new_login ada@example.com",
			"security.password_changed ada@example.com",
			"security.2fa_enabled ada@example.com",
			"security.2fa_disabled ada@example.com",
			"account.password_reset ada@example.com",
		}
		if diff := cmp.Diff(want, b.messages(t)); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
		wantInApp := []string{"security.new_login", "security.password_changed", "security.2fa_enabled", "security.2fa_disabled"}
		if diff := cmp.Diff(wantInApp, b.inApp(t)); diff != "" {
			t.Errorf("in-app (-want +got):\n%s", diff)
		}
		var newLogin outbox.Message
		if err := db.NewSelect().Model(&newLogin).Where("template = ?", "security.new_login").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(newLogin.BodyText, "203.0.113.9") {
			t.Errorf("new-login mail does not name the address:\n%s", newLogin.BodyText)
		}
	})
}
