package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

type createdToken struct {
	Token    string            `json:"token"`
	APIToken httpapi.TokenView `json:"api_token"`
}

func (tb *appBundle) createToken(t *testing.T, session, name string, scopes ...string) createdToken {
	t.Helper()
	var out createdToken
	tb.client.do("POST", "/api/v1/me/tokens", session, map[string]any{"name": name, "scopes": scopes}).
		want(t, http.StatusCreated).decode(t, &out)
	return out
}

func TestPersonalTokens(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "tokens")

		var made []createdToken
		for _, name := range []string{"ci", "backup", "monitoring"} {
			made = append(made, tb.createToken(t, u.Token, name, "account:read", "services:read"))
		}
		if !strings.HasPrefix(made[0].Token, "ezs_pat_") || !strings.HasPrefix(made[0].Token, made[0].APIToken.Prefix) {
			t.Errorf("token %q with prefix %q", made[0].Token, made[0].APIToken.Prefix)
		}

		// Pages of two, in creation order, until next_cursor is empty.
		var names []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 3 {
				t.Fatal("pagination does not end")
			}
			var page httpapi.List[httpapi.TokenView]
			tb.client.do("GET", "/api/v1/me/tokens?limit=2&cursor="+cursor, u.Token, nil).want(t, http.StatusOK).decode(t, &page)
			if len(page.Data) > 2 {
				t.Fatalf("page of %d with limit=2", len(page.Data))
			}
			for _, v := range page.Data {
				names = append(names, v.Name)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
		if diff := cmp.Diff([]string{"ci", "backup", "monitoring"}, names); diff != "" {
			t.Errorf("listed names (-want +got):\n%s", diff)
		}
		tb.client.do("GET", "/api/v1/me/tokens?limit=0", u.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("GET", "/api/v1/me/tokens?cursor=!!", u.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")

		// The token authenticates with its scopes only.
		pat := made[0].Token
		var m meView
		tb.client.do("GET", "/api/v1/me", pat, nil).want(t, http.StatusOK).decode(t, &m)
		if diff := cmp.Diff("personal", m.Token.Kind); diff != "" {
			t.Error(diff)
		}
		if diff := cmp.Diff([]string{"account:read", "services:read"}, m.Token.Scopes); diff != "" {
			t.Errorf("scopes (-want +got):\n%s", diff)
		}

		// Revoked: gone from the list and refused.
		tb.client.do("DELETE", "/api/v1/me/tokens/"+made[0].APIToken.ID, u.Token, nil).want(t, http.StatusNoContent)
		tb.client.do("GET", "/api/v1/me", pat, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		tb.client.do("DELETE", "/api/v1/me/tokens/"+made[0].APIToken.ID, u.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		var page httpapi.List[httpapi.TokenView]
		tb.client.do("GET", "/api/v1/me/tokens", u.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 2 {
			t.Errorf("%d tokens listed after revoking one of 3", len(page.Data))
		}

		// Validation names the field.
		p := tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": "x", "scopes": []string{"account:read", "root"}}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "scopes[1]" {
			t.Errorf("errors = %+v, want one for scopes[1]", p.Errors)
		}
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": "x", "scopes": []string{"admin:read"}}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		tb.client.do("POST", "/api/v1/me/tokens", u.Token, map[string]any{"name": "x", "scopes": []string{"account:read"}, "expires_at": past}).
			wantProblem(t, http.StatusBadRequest, "invalid")
	})
}

func TestScopesAreEnforced(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		u := tb.newUser(t, "scopes")
		billing := tb.createToken(t, u.Token, "billing only", "billing:read").Token
		reader := tb.createToken(t, u.Token, "reader", "account:read").Token
		writer := tb.createToken(t, u.Token, "writer", "account:read", "account:write").Token
		victim := tb.createToken(t, u.Token, "victim", "services:read")

		tb.client.do("GET", "/api/v1/me", billing, nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		tb.client.do("GET", "/api/v1/accounts", billing, nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		tb.client.do("GET", "/api/v1/me", reader, nil).want(t, http.StatusOK)
		tb.client.do("DELETE", "/api/v1/me/tokens/"+victim.APIToken.ID, reader, nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")
		tb.client.do("DELETE", "/api/v1/me/tokens/"+victim.APIToken.ID, writer, nil).want(t, http.StatusNoContent)

		// Credentials are managed with a login session only, whatever the
		// token's scopes: a leaked token cannot lock its owner out.
		for _, tc := range []struct{ path, body string }{
			{"/api/v1/me/tokens", `{"name": "escalate", "scopes": ["account:write"]}`},
			{"/api/v1/me/password", `{"current_password": "correct horse battery", "new_password": "attacker password"}`},
			{"/api/v1/me/2fa/enroll", ``},
		} {
			var body any
			if tc.body != "" {
				body = raw(tc.body)
			}
			tb.client.do("POST", tc.path, writer, body).wantProblem(t, http.StatusForbidden, "session_required")
		}
		tb.client.do("POST", "/api/v1/auth/logout", writer, nil).wantProblem(t, http.StatusBadRequest, "not_a_session")

		// Refusals are audited.
		if n := tb.count(t, "audit_events", "action = ? AND result = ?", "auth.denied", "denied"); n < 6 {
			t.Errorf("%d auth.denied events, want at least 6", n)
		}
	})
}

func TestStaffRoutesRefuseCustomers(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		customer := tb.newUser(t, "customer")
		support := tb.newStaff(t, accounts.StaffSupport)
		admin := tb.newStaff(t, accounts.StaffAdmin)

		tb.client.do("GET", "/api/v1/admin/audit-events", customer.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		// The route needs staff admin; support is below it.
		tb.client.do("GET", "/api/v1/admin/audit-events", support.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		tb.client.do("GET", "/api/v1/admin/audit-events", admin.Token, nil).want(t, http.StatusOK)
		tb.client.do("POST", "/api/v1/admin/users/"+customer.ID+"/disable", customer.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")

		// A staff token without the admin scope is refused too.
		adminRead := tb.createToken(t, admin.Token, "audit reader", "admin:read").Token
		tb.client.do("GET", "/api/v1/admin/audit-events", adminRead, nil).want(t, http.StatusOK)
		tb.client.do("POST", "/api/v1/admin/users/"+customer.ID+"/disable", adminRead, nil).wantProblem(t, http.StatusForbidden, "insufficient_scope")

		// Disabling a user ends every session and token at once.
		customerPAT := tb.createToken(t, customer.Token, "ci", "account:read").Token
		tb.client.do("POST", "/api/v1/admin/users/"+customer.ID+"/disable", admin.Token, nil).want(t, http.StatusNoContent)
		tb.client.do("GET", "/api/v1/me", customer.Token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		tb.client.do("GET", "/api/v1/me", customerPAT, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": customer.Email, "password": customer.Password}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		tb.client.do("POST", "/api/v1/admin/users/no-such-user/disable", admin.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
	})
}

// TestAnotherAccountsObjectsAreNotFound: BOLA. Another account's objects
// answer exactly like objects that do not exist.
func TestAnotherAccountsObjectsAreNotFound(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		alice := tb.newUser(t, "alice")
		mallory := tb.newUser(t, "mallory")
		aliceToken := tb.createToken(t, alice.Token, "alice's", "account:read")

		var own httpapi.AccountView
		tb.client.do("GET", "/api/v1/accounts/"+alice.AccountID, alice.Token, nil).want(t, http.StatusOK).decode(t, &own)
		if own.ID != alice.AccountID || own.Role != "owner" {
			t.Errorf("own account = %+v", own)
		}

		foreign := tb.client.do("GET", "/api/v1/accounts/"+alice.AccountID, mallory.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		missing := tb.client.do("GET", "/api/v1/accounts/01900000-0000-7000-8000-000000000000", mallory.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		if foreign.Detail != missing.Detail {
			t.Errorf("another account's 404 (%q) differs from a missing one's (%q)", foreign.Detail, missing.Detail)
		}
		tb.client.do("DELETE", "/api/v1/me/tokens/"+aliceToken.APIToken.ID, mallory.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("GET", "/api/v1/me", aliceToken.Token, nil).want(t, http.StatusOK)

		var list httpapi.List[httpapi.AccountView]
		tb.client.do("GET", "/api/v1/accounts", mallory.Token, nil).want(t, http.StatusOK).decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ID != mallory.AccountID {
			t.Errorf("mallory lists %+v", list.Data)
		}

		// Staff see every account, without a customer role.
		support := tb.newStaff(t, accounts.StaffSupport)
		var seen httpapi.AccountView
		tb.client.do("GET", "/api/v1/accounts/"+alice.AccountID, support.Token, nil).want(t, http.StatusOK).decode(t, &seen)
		if seen.ID != alice.AccountID || seen.Role != "" {
			t.Errorf("staff view = %+v", seen)
		}
	})
}
