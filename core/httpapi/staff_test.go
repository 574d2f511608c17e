package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// TestStaffActOnlyOnLowerRoles: an admin cannot disable an owner or
// another admin, an owner cannot disable an owner, nobody disables
// themselves; a disabled user is re-enabled through the API; the console
// operator can disable an owner but never the last enabled one.
func TestStaffActOnlyOnLowerRoles(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		owner := tb.newStaff(t, accounts.StaffOwner)
		owner2 := tb.newStaff(t, accounts.StaffOwner)
		admin := tb.newStaff(t, accounts.StaffAdmin)
		admin2 := tb.newStaff(t, accounts.StaffAdmin)
		support := tb.newStaff(t, accounts.StaffSupport)
		customer := tb.newUser(t, "customer")
		disable := func(actor, target user) *response {
			return tb.client.do("POST", "/api/v1/admin/users/"+target.ID+"/disable", actor.Token, nil)
		}
		enable := func(actor, target user) *response {
			return tb.client.do("POST", "/api/v1/admin/users/"+target.ID+"/enable", actor.Token, nil)
		}

		disable(admin, owner).wantProblem(t, http.StatusForbidden, "staff_hierarchy")
		disable(admin, admin2).wantProblem(t, http.StatusForbidden, "staff_hierarchy")
		disable(owner, owner2).wantProblem(t, http.StatusForbidden, "staff_hierarchy")
		disable(owner, owner).wantProblem(t, http.StatusConflict, "conflict")
		disable(support, customer).wantProblem(t, http.StatusForbidden, "forbidden")
		tb.me(t, owner.Token)
		tb.me(t, admin2.Token)

		// Down the hierarchy it works, both ways.
		disable(admin, support).want(t, http.StatusNoContent)
		tb.client.do("GET", "/api/v1/me", support.Token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		enable(admin, support).want(t, http.StatusNoContent)
		tb.login(t, support.Email, support.Password)
		disable(owner, admin2).want(t, http.StatusNoContent)
		enable(admin, admin2).wantProblem(t, http.StatusForbidden, "staff_hierarchy")
		enable(owner, admin2).want(t, http.StatusNoContent)
		enable(owner, admin2).want(t, http.StatusNoContent) // already enabled: no-op
		disable(admin, customer).want(t, http.StatusNoContent)
		enable(admin, customer).want(t, http.StatusNoContent)
		tb.login(t, customer.Email, customer.Password)
		enable(admin, user{ID: "no-such-user"}).wantProblem(t, http.StatusNotFound, "not_found")
		if n := tb.count(t, "audit_events", "action = ? AND target_id = ?", "user.enable", support.ID); n != 1 {
			t.Errorf("%d user.enable events for the support user, want 1", n)
		}

		// The operator at the console is above every role, but the last
		// enabled owner stays.
		ctx := context.Background()
		if err := tb.app.Accounts.DisableUser(ctx, accounts.Operator, owner2.ID); err != nil {
			t.Fatalf("operator disabling one of two owners: %v", err)
		}
		err := tb.app.Accounts.DisableUser(ctx, accounts.Operator, owner.ID)
		if e, ok := apperr.As(err); !ok || e.Reason != "last_owner" {
			t.Fatalf("operator disabling the last owner: %v, want last_owner", err)
		}
		tb.me(t, owner.Token)
		if err := tb.app.Accounts.EnableUser(ctx, accounts.Operator, owner2.ID); err != nil {
			t.Fatal(err)
		}
		tb.login(t, owner2.Email, owner2.Password)
	})
}

// TestStaffListAndSearchUsersAndAccounts: staff (support and above) list
// users and accounts, search them by email, name and id, and page through
// them; customers cannot.
func TestStaffListAndSearchUsersAndAccounts(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, dbURL string) {
		tb := startApp(t, d, dbURL)
		support := tb.newStaff(t, accounts.StaffSupport)
		admin := tb.newStaff(t, accounts.StaffAdmin)
		var made []user
		for _, name := range []string{"Zebra Hosting", "Yak Hosting", "Zed 100% Cloud"} {
			var out struct {
				User    httpapi.UserView    `json:"user"`
				Account httpapi.AccountView `json:"account"`
			}
			email := uniqueEmail("search")
			tb.client.do("POST", "/api/v1/auth/signup", "", map[string]string{"email": email, "password": "correct horse battery", "account_name": name}).
				want(t, http.StatusCreated).decode(t, &out)
			made = append(made, user{ID: out.User.ID, AccountID: out.Account.ID, Email: email})
		}
		tb.client.do("POST", "/api/v1/admin/users/"+made[1].ID+"/disable", admin.Token, nil).want(t, http.StatusNoContent)

		users := func(q url.Values) []string {
			t.Helper()
			var ids []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 10 {
					t.Fatal("pagination does not end")
				}
				q.Set("limit", "1")
				q.Set("cursor", cursor)
				var page httpapi.List[httpapi.StaffUserView]
				tb.client.do("GET", "/api/v1/admin/users?"+q.Encode(), support.Token, nil).want(t, http.StatusOK).decode(t, &page)
				for _, v := range page.Data {
					ids = append(ids, v.ID)
				}
				if page.NextCursor == "" {
					return ids
				}
				cursor = page.NextCursor
			}
		}
		if diff := cmp.Diff([]string{made[0].ID, made[1].ID, made[2].ID}, users(url.Values{"q": {"SEARCH-"}})); diff != "" {
			t.Errorf("users matching part of the email (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{made[2].ID}, users(url.Values{"q": {made[2].ID}})); diff != "" {
			t.Errorf("users by id (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{made[1].ID}, users(url.Values{"q": {"search-"}, "disabled": {"true"}})); diff != "" {
			t.Errorf("disabled users (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{support.ID, admin.ID}, users(url.Values{"staff": {"true"}})); diff != "" {
			t.Errorf("staff users (-want +got):\n%s", diff)
		}
		if got := users(url.Values{"q": {"%"}}); len(got) != 0 {
			t.Errorf("a %% in q matched %d users; it must match itself only", len(got))
		}

		var page httpapi.List[httpapi.StaffUserView]
		tb.client.do("GET", "/api/v1/admin/users?q="+made[1].Email, support.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 1 || !page.Data[0].Disabled || page.Data[0].DisabledAt == nil || page.Data[0].Email != made[1].Email {
			t.Errorf("disabled user view = %+v", page.Data)
		}

		accountsMatching := func(q string) []string {
			t.Helper()
			var page httpapi.List[httpapi.StaffAccountView]
			tb.client.do("GET", "/api/v1/admin/accounts?"+url.Values{"q": {q}}.Encode(), support.Token, nil).want(t, http.StatusOK).decode(t, &page)
			var names []string
			for _, a := range page.Data {
				names = append(names, a.Name)
			}
			return names
		}
		if diff := cmp.Diff([]string{"Zebra Hosting", "Zed 100% Cloud"}, accountsMatching("ze")); diff != "" {
			t.Errorf("accounts by name (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Zed 100% Cloud"}, accountsMatching("100%")); diff != "" {
			t.Errorf("accounts by a name with %% (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Yak Hosting"}, accountsMatching(made[1].Email)); diff != "" {
			t.Errorf("accounts by member email (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"Zebra Hosting"}, accountsMatching(made[0].AccountID)); diff != "" {
			t.Errorf("accounts by id (-want +got):\n%s", diff)
		}
		var accPage httpapi.List[httpapi.StaffAccountView]
		tb.client.do("GET", "/api/v1/admin/accounts?limit=2", support.Token, nil).want(t, http.StatusOK).decode(t, &accPage)
		if len(accPage.Data) != 2 || accPage.NextCursor == "" {
			t.Fatalf("first page of accounts: %d, cursor %q", len(accPage.Data), accPage.NextCursor)
		}
		want := []httpapi.MemberView{{UserID: made[0].ID, Email: made[0].Email, Role: "owner"}}
		if diff := cmp.Diff(want, accPage.Data[0].Members); diff != "" {
			t.Errorf("members (-want +got):\n%s", diff)
		}
		tb.client.do("GET", "/api/v1/admin/accounts?cursor="+accPage.NextCursor, support.Token, nil).want(t, http.StatusOK).decode(t, &accPage)
		if len(accPage.Data) != 1 || accPage.NextCursor != "" || accPage.Data[0].ID != made[2].AccountID {
			t.Errorf("second page of accounts: %+v, cursor %q", accPage.Data, accPage.NextCursor)
		}

		customer := tb.newUser(t, "nosy")
		tb.client.do("GET", "/api/v1/admin/users", customer.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		tb.client.do("GET", "/api/v1/admin/accounts", customer.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		tb.client.do("GET", "/api/v1/admin/users?staff=maybe", support.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
	})
}
