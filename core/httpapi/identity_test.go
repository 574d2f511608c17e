package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// meView is the body of GET /api/v1/me.
type meView struct {
	User     httpapi.UserView      `json:"user"`
	Accounts []httpapi.AccountView `json:"accounts"`
	Token    struct {
		Kind   string   `json:"kind"`
		Scopes []string `json:"scopes"`
	} `json:"token"`
}

func (tb *appBundle) me(t *testing.T, token string) meView {
	t.Helper()
	var m meView
	tb.client.do("GET", "/api/v1/me", token, nil).want(t, http.StatusOK).decode(t, &m)
	return m
}

func TestSignupLoginMeLogout(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		email := uniqueEmail("Alice")
		var created struct {
			User    httpapi.UserView    `json:"user"`
			Account httpapi.AccountView `json:"account"`
		}
		// Addresses are stored lower-case; the account is named after it.
		tb.client.do("POST", "/api/v1/auth/signup", "", map[string]string{"email": email, "password": "correct horse battery", "account_name": "Alice Hosting"}).
			want(t, http.StatusCreated).decode(t, &created)
		want := httpapi.UserView{ID: created.User.ID, Email: strings.ToLower(email)}
		if diff := cmp.Diff(want, created.User, cmpopts.IgnoreFields(httpapi.UserView{}, "CreatedAt")); diff != "" {
			t.Errorf("signup user (-want +got):\n%s", diff)
		}
		if created.Account.Name != "Alice Hosting" || created.Account.Role != "owner" {
			t.Errorf("signup account = %+v", created.Account)
		}

		// The same address again is a conflict, whatever its case.
		tb.client.do("POST", "/api/v1/auth/signup", "", map[string]string{"email": strings.ToLower(email), "password": "another password"}).
			wantProblem(t, http.StatusConflict, "email_taken")

		tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": "wrong password!"}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": "nobody@example.com", "password": "wrong password!"}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")

		token := tb.login(t, email, "correct horse battery")
		m := tb.me(t, token)
		if diff := cmp.Diff([]httpapi.AccountView{{ID: created.Account.ID, Name: "Alice Hosting", Role: "owner"}}, m.Accounts,
			cmpopts.IgnoreFields(httpapi.AccountView{}, "CreatedAt")); diff != "" {
			t.Errorf("me accounts (-want +got):\n%s", diff)
		}
		if m.User.ID != created.User.ID || m.Token.Kind != "session" {
			t.Errorf("me = %+v", m)
		}

		tb.client.do("GET", "/api/v1/me", "", nil).wantProblem(t, http.StatusUnauthorized, "missing_token")
		tb.client.do("GET", "/api/v1/me", "ezs_sess_notarealtoken", nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")

		tb.client.do("POST", "/api/v1/auth/logout", token, nil).want(t, http.StatusNoContent)
		tb.client.do("GET", "/api/v1/me", token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
	})
}

func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "pwchange")
		other := tb.login(t, u.Email, u.Password)

		tb.client.do("POST", "/api/v1/me/password", u.Token, map[string]string{"current_password": "not the password", "new_password": "a brand new password"}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		p := tb.client.do("POST", "/api/v1/me/password", u.Token, map[string]string{"current_password": u.Password, "new_password": "short"}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "new_password" {
			t.Errorf("errors = %+v, want one for new_password", p.Errors)
		}

		tb.client.do("POST", "/api/v1/me/password", u.Token, map[string]string{"current_password": u.Password, "new_password": "a brand new password"}).
			want(t, http.StatusNoContent)
		// The session that changed it stays; every other one is revoked.
		tb.me(t, u.Token)
		tb.client.do("GET", "/api/v1/me", other, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		tb.login(t, u.Email, "a brand new password")
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "reset")

		// The answer is the same for an unknown address, and nothing is sent.
		var unknown, known map[string]string
		tb.client.do("POST", "/api/v1/auth/password-reset", "", map[string]string{"email": "nobody@example.com"}).want(t, http.StatusAccepted).decode(t, &unknown)
		if n := tb.count(t, "outbox_messages", "recipient = ?", "nobody@example.com"); n != 0 {
			t.Errorf("%d messages queued for an unknown address", n)
		}
		tb.client.do("POST", "/api/v1/auth/password-reset", "", map[string]string{"email": u.Email}).want(t, http.StatusAccepted).decode(t, &known)
		if diff := cmp.Diff(unknown, known); diff != "" {
			t.Errorf("the answer reveals whether the address has an account (-unknown +known):\n%s", diff)
		}

		token := tb.mailedToken(t, u.Email, "account.password_reset")
		tb.client.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "reset to this password"}).
			want(t, http.StatusNoContent)
		// Every session is revoked, the new password works, and the link is
		// single-use.
		tb.client.do("GET", "/api/v1/me", u.Token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		fresh := tb.login(t, u.Email, "reset to this password")
		if !tb.me(t, fresh).User.EmailVerified {
			t.Error("receiving the reset link did not verify the address")
		}
		p := tb.client.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": token, "new_password": "and once more please"}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "token" {
			t.Errorf("errors = %+v, want one for token", p.Errors)
		}
	})
}

func TestEmailVerification(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "verify")
		if tb.me(t, u.Token).User.EmailVerified {
			t.Fatal("a new address is verified before its link was used")
		}
		first := tb.mailedToken(t, u.Email, "account.verify_email")

		// A resent link replaces the first one.
		tb.client.do("POST", "/api/v1/me/verify-email/resend", u.Token, nil).want(t, http.StatusAccepted)
		second := tb.mailedToken(t, u.Email, "account.verify_email")
		if second == first {
			t.Fatal("resend queued the same token")
		}
		tb.client.do("POST", "/api/v1/auth/verify-email", "", map[string]string{"token": first}).wantProblem(t, http.StatusBadRequest, "invalid")

		tb.client.do("POST", "/api/v1/auth/verify-email", "", map[string]string{"token": second}).want(t, http.StatusNoContent)
		if !tb.me(t, u.Token).User.EmailVerified {
			t.Error("the address is not verified after its link was used")
		}
		tb.client.do("POST", "/api/v1/auth/verify-email", "", map[string]string{"token": second}).wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", "/api/v1/me/verify-email/resend", u.Token, nil).wantProblem(t, http.StatusConflict, "already_verified")
	})
}

// TestVerificationResendNeedsWriteScope: a resend replaces the pending
// link and sends mail, so a read-only API token may not ask for one.
func TestVerificationResendNeedsWriteScope(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "resend")
		reader := tb.createToken(t, u.Token, "reader", "account:read").Token
		writer := tb.createToken(t, u.Token, "writer", "account:write").Token
		mails := func() int {
			return tb.count(t, "outbox_messages", "recipient = ? AND template = ?", u.Email, "account.verify_email")
		}
		before := mails()
		tb.client.do("POST", "/api/v1/me/verify-email/resend", reader, nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		if got := mails(); got != before {
			t.Errorf("%d verification mails after a refused resend, want %d", got, before)
		}
		tb.client.do("POST", "/api/v1/me/verify-email/resend", writer, nil).want(t, http.StatusAccepted)
		if got := mails(); got != before+1 {
			t.Errorf("%d verification mails after a resend, want %d", got, before+1)
		}
	})
}
