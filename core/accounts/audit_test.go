package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// failures returns "action reason target" for every failed event.
func (b *testBundle) failures(t *testing.T) []string {
	t.Helper()
	var recs []audit.Record
	if err := b.db.NewSelect().Model(&recs).Where("result = ?", audit.Failure).Order("seq").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Action + " " + r.ChangesMap()["reason"].(string) + " " + r.TargetID
	}
	return out
}

// TestFailedReauthenticationIsAudited: a wrong current password, wrong
// codes on two-factor confirm, disable and recovery codes, and unknown
// verification or reset tokens each leave a failure event, although the
// request fails.
func TestFailedReauthenticationIsAudited(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorUser, IP: "198.51.100.4", UserAgent: "test"})
		u, _, err := b.accounts.Signup(ctx, accounts.SignupInput{Email: "ada@example.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		sess, _, err := b.accounts.Login(ctx, accounts.LoginInput{Email: "ada@example.com", Password: password})
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.accounts.Authenticate(ctx, sess.Token)
		if err != nil {
			t.Fatal(err)
		}
		wantInvalid := func(what string, err error) {
			t.Helper()
			if err == nil {
				t.Fatalf("%s: accepted", what)
			}
		}

		wantInvalid("change with a wrong password", b.accounts.ChangePassword(ctx, p, "not the password", "a much better passphrase"))
		enr, err := b.accounts.EnrollTOTP(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.accounts.ConfirmTOTP(ctx, p, "000000")
		wantInvalid("confirm with a wrong code", err)
		code, err := totp.GenerateCode(enr.Secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		codes, err := b.accounts.ConfirmTOTP(ctx, p, code)
		if err != nil {
			t.Fatal(err)
		}
		wantInvalid("disable with a wrong password", b.accounts.DisableTOTP(ctx, p, "not the password", codes[0]))
		wantInvalid("disable with a wrong code", b.accounts.DisableTOTP(ctx, p, password, "zzzzz-zzzzz"))
		_, err = b.accounts.RegenerateRecoveryCodes(ctx, p, "000000")
		wantInvalid("recovery codes with a wrong code", err)
		wantInvalid("verify with an unknown token", b.accounts.VerifyEmail(ctx, "ezs_otk_unknown"))
		wantInvalid("reset with an unknown token", b.accounts.ResetPassword(ctx, "ezs_otk_unknown", "a much better passphrase"))

		want := []string{
			"user.password.change bad_password " + u.ID,
			"user.2fa.enable bad_code " + u.ID,
			"user.2fa.disable bad_password " + u.ID,
			"user.2fa.disable bad_code " + u.ID,
			"user.2fa.recovery_codes bad_code " + u.ID,
			"user.email.verify invalid_token ",
			"user.password.reset invalid_token ",
		}
		if diff := cmp.Diff(want, b.failures(t)); diff != "" {
			t.Errorf("failure events (-want +got):\n%s", diff)
		}
		if rep, err := audit.Verify(ctx, db); err != nil || !rep.OK {
			t.Errorf("audit chain: %+v, %v", rep, err)
		}
	})
}
