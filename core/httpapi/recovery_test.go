package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/outbox"
)

// mailed returns the text of the newest message of template sent to email.
func (tb *appBundle) mailed(t *testing.T, email, template string) string {
	t.Helper()
	var msgs []outbox.Message
	if err := tb.app.DB.NewSelect().Model(&msgs).Where("recipient = ?", email).Where("template = ?", template).
		Order("created_at DESC", "id DESC").Limit(1).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(msgs) == 0 {
		t.Fatalf("no %s message for %s", template, email)
	}
	m, err := tb.app.Outbox.Get(context.Background(), msgs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return m.BodyText
}

// TestPasswordResetRevokesPersonalTokens: recovering an account with a
// reset link ends every session and every personal API token, since whoever
// knew the old password may have minted them.
func TestPasswordResetRevokesPersonalTokens(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "recover")
		pat := tb.createToken(t, u.Token, "planted", "account:read").Token
		tb.client.do("GET", "/api/v1/me", pat, nil).want(t, http.StatusOK)

		tb.client.do("POST", "/api/v1/auth/password-reset", "", map[string]string{"email": u.Email}).want(t, http.StatusAccepted)
		token := tb.mailedToken(t, u.Email, "account.password_reset")
		tb.client.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "reset to this password"}).
			want(t, http.StatusNoContent)

		tb.client.do("GET", "/api/v1/me", pat, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		tb.client.do("GET", "/api/v1/me", u.Token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		if body := tb.mailed(t, u.Email, "security.password_changed"); !strings.Contains(body, "every personal API token was revoked") {
			t.Errorf("the reset notice does not say the tokens were revoked:\n%s", body)
		}
	})
}

// TestPasswordChangeTellsWhichTokensRemain: a password change signs out
// every other session, keeps personal tokens working, and the email names
// each token that still works (and no revoked one).
func TestPasswordChangeTellsWhichTokensRemain(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "change")
		other := tb.login(t, u.Email, u.Password)
		kept := tb.createToken(t, u.Token, "ci deploy", "services:read")
		gone := tb.createToken(t, u.Token, "old laptop", "account:read")
		tb.client.do("DELETE", "/api/v1/me/tokens/"+gone.APIToken.ID, u.Token, nil).want(t, http.StatusNoContent)

		tb.client.do("POST", "/api/v1/me/password", u.Token, map[string]string{"current_password": u.Password, "new_password": "a brand new password"}).
			want(t, http.StatusNoContent)
		tb.me(t, u.Token)
		tb.client.do("GET", "/api/v1/me", other, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		// Still authenticates (403 for the scope it lacks, not 401).
		tb.client.do("GET", "/api/v1/me", kept.Token, nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")

		body := tb.mailed(t, u.Email, "security.password_changed")
		for _, want := range []string{"These personal API tokens still work", "ci deploy", kept.APIToken.Prefix, "services:read"} {
			if !strings.Contains(body, want) {
				t.Errorf("the notice lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "old laptop") {
			t.Errorf("the notice lists a revoked token:\n%s", body)
		}
	})
}

// TestSignupRefusesCommonPasswords: a long-enough but common password is
// refused naming the field, and nothing is created.
func TestSignupRefusesCommonPasswords(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		for _, pw := range []string{"password1234", "qwertyuiop", "Password123!"} {
			p := tb.client.do("POST", "/api/v1/auth/signup", "", map[string]string{"email": uniqueEmail("weak"), "password": pw}).
				wantProblem(t, http.StatusBadRequest, "invalid")
			if len(p.Errors) != 1 || p.Errors[0].Field != "password" {
				t.Errorf("%q: errors = %+v, want one for password", pw, p.Errors)
			}
		}
		if n := tb.count(t, "users", "1 = 1"); n != 0 {
			t.Errorf("%d users created with common passwords", n)
		}
	})
}
