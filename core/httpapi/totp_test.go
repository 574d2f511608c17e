package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// totpCode is what an authenticator app shows at time at.
func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestTOTPLifecycle(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "totp")
		login := func(extra map[string]string) *response {
			body := map[string]string{"email": u.Email, "password": u.Password}
			for k, v := range extra {
				body[k] = v
			}
			return tb.client.do("POST", "/api/v1/auth/login", "", body)
		}

		var enrolled struct {
			Secret string `json:"secret"`
			URL    string `json:"otpauth_url"`
		}
		tb.client.do("POST", "/api/v1/me/2fa/enroll", u.Token, nil).want(t, http.StatusOK).decode(t, &enrolled)
		// Enrolling alone does not turn two-factor on.
		login(nil).want(t, http.StatusOK)

		p := tb.client.do("POST", "/api/v1/me/2fa/confirm", u.Token, map[string]string{"code": "000000"}).wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "code" {
			t.Errorf("errors = %+v, want one for code", p.Errors)
		}
		var confirmed struct {
			RecoveryCodes []string `json:"recovery_codes"`
		}
		tb.client.do("POST", "/api/v1/me/2fa/confirm", u.Token, map[string]string{"code": totpCode(t, enrolled.Secret, time.Now())}).
			want(t, http.StatusOK).decode(t, &confirmed)
		if len(confirmed.RecoveryCodes) != 10 {
			t.Fatalf("%d recovery codes, want 10", len(confirmed.RecoveryCodes))
		}
		if !tb.me(t, u.Token).User.TOTPEnabled {
			t.Error("me does not show two-factor on")
		}

		// The password alone is no longer enough.
		login(nil).wantProblem(t, http.StatusUnauthorized, "totp_required")
		login(map[string]string{"totp_code": "000000"}).wantProblem(t, http.StatusUnauthorized, "invalid_totp")

		// The next step's code (within the skew window) is accepted once;
		// the confirm's step was used already, so it is a replay.
		code := totpCode(t, enrolled.Secret, time.Now().Add(30*time.Second))
		login(map[string]string{"totp_code": code}).want(t, http.StatusOK)
		login(map[string]string{"totp_code": code}).wantProblem(t, http.StatusUnauthorized, "invalid_totp")

		// A recovery code works once.
		login(map[string]string{"recovery_code": confirmed.RecoveryCodes[0]}).want(t, http.StatusOK)
		login(map[string]string{"recovery_code": confirmed.RecoveryCodes[0]}).wantProblem(t, http.StatusUnauthorized, "invalid_recovery_code")

		// Turning it off needs the password and a second factor.
		tb.client.do("POST", "/api/v1/me/2fa/disable", u.Token, map[string]string{"password": "not the password", "code": confirmed.RecoveryCodes[1]}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", "/api/v1/me/2fa/disable", u.Token, map[string]string{"password": u.Password, "code": confirmed.RecoveryCodes[0]}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", "/api/v1/me/2fa/disable", u.Token, map[string]string{"password": u.Password, "code": confirmed.RecoveryCodes[1]}).
			want(t, http.StatusNoContent)
		login(nil).want(t, http.StatusOK)
		if tb.count(t, "recovery_codes", "user_id = ?", u.ID) != 0 {
			t.Error("recovery codes outlived two-factor")
		}
	})
}
