package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
)

// disablePolicy turns a shipped high-risk policy off, so a test reaches
// the action itself.
func (b *approvalBundle) disablePolicy(t *testing.T, id string) {
	t.Helper()
	b.client.do("PATCH", "/api/v1/admin/high-risk-policies/"+id, b.owner.Token, map[string]any{"enabled": false}).want(t, http.StatusOK)
}

// approve has another staff member approve a held request and returns the
// approval after its execution (executed, or failed when the action
// refused: its result says why).
func (b *approvalBundle) approve(t *testing.T, r *response, approver user) approval.Approval {
	t.Helper()
	var held, done approval.Approval
	r.want(t, http.StatusAccepted).decode(t, &held)
	b.client.do("POST", "/api/v1/admin/approvals/"+held.ID+"/approve", approver.Token, map[string]string{}).want(t, http.StatusOK).decode(t, &done)
	if done.State != approval.StateExecuted && done.State != approval.StateFailed {
		t.Fatalf("approval %s: state %s, result %d %s", held.ID, done.State, done.ResultStatus, done.Result)
	}
	return done
}

// staffRole reads a user's staff role from the database.
func (b *approvalBundle) staffRole(t *testing.T, id string) string {
	t.Helper()
	role, err := b.app.Accounts.StaffRoleOf(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return role
}

// TestInvitedStaffChoosesTheirPasswordAfterApproval: an owner's staff
// invitation is held by the shipped "Staff created or deleted" policy; a
// second owner's approval creates the user, who receives a link to choose
// their password (the request carries none) and then logs in with the
// role; an admin may not invite (403), an existing address is 409.
func TestInvitedStaffChoosesTheirPasswordAfterApproval(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		owner2 := b.newStaff(t, accounts.StaffOwner)
		email := uniqueEmail("invitee")
		body := map[string]any{"email": email, "role": accounts.StaffAdmin}
		b.client.do("POST", "/api/v1/admin/staff", b.admin.Token, body).wantProblem(t, http.StatusForbidden, "forbidden")

		r := b.client.do("POST", "/api/v1/admin/staff", b.owner.Token, body, "Idempotency-Key", "invite-1")
		if n := b.count(t, "users", "email = ?", email); n != 0 {
			t.Fatalf("%d users before approval, want 0", n)
		}
		done := b.approve(t, r, owner2)
		if done.ResultStatus != http.StatusCreated {
			t.Fatalf("held invitation answered %d %s", done.ResultStatus, done.Result)
		}
		var created httpapi.StaffUserView
		if err := json.Unmarshal(done.Result, &created); err != nil {
			t.Fatal(err)
		}
		if created.StaffRole == nil || *created.StaffRole != accounts.StaffAdmin {
			t.Fatalf("created staff role %v, want admin", created.StaffRole)
		}
		tb := b.appBundle
		tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": "staff password 123"}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		tok := tb.mailedToken(t, email, "account.staff_invite")
		tb.client.do("POST", "/api/v1/auth/password-reset/confirm", "", map[string]string{"token": tok, "new_password": "chosen by the invitee 42"}).
			want(t, http.StatusNoContent)
		session := tb.login(t, email, "chosen by the invitee 42")
		if m := tb.me(t, session); m.User.StaffRole == nil || *m.User.StaffRole != accounts.StaffAdmin {
			t.Errorf("the invitee's staff role: %v, want admin", m.User.StaffRole)
		}
		var ev audit.Record
		if err := tb.app.DB.NewSelect().Model(&ev).Where("action = ?", "staff.create").Where("target_id = ?", created.ID).Scan(context.Background()); err != nil {
			t.Fatalf("reading the staff.create event: %v", err)
		}
		var changes map[string]any
		if err := json.Unmarshal([]byte(ev.Changes), &changes); err != nil {
			t.Fatal(err)
		}
		if changes["approval_id"] != done.ID || changes["approved_by"] != owner2.ID {
			t.Errorf("staff.create changes %v, want the approval %s by %s", changes, done.ID, owner2.ID)
		}
		b.disablePolicy(t, "hrp_staff_change")
		b.client.do("POST", "/api/v1/admin/staff", b.owner.Token, map[string]any{"email": email, "role": "support"}).
			wantProblem(t, http.StatusConflict, "email_taken")
	})
}

// TestStaffRolesChangeButTheLastOwnerStays: an owner changes an admin's
// role and demotes another owner; nobody changes their own role; the last
// enabled owner is never demoted nor removed (last_owner); removing a
// staff role revokes the user's sessions and is held until a second
// owner approves; a customer is not staff (not_staff); admins may not.
func TestStaffRolesChangeButTheLastOwnerStays(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		owner2 := b.newStaff(t, accounts.StaffOwner)
		patch := func(actor, target user, role string) *response {
			return b.client.do("PATCH", "/api/v1/admin/staff/"+target.ID, actor.Token, map[string]any{"role": role})
		}
		patch(b.admin, b.support, accounts.StaffAdmin).wantProblem(t, http.StatusForbidden, "forbidden")
		patch(b.owner, b.owner, accounts.StaffAdmin).wantProblem(t, http.StatusConflict, "conflict")
		patch(b.owner, b.customer, accounts.StaffAdmin).wantProblem(t, http.StatusConflict, "not_staff")
		patch(b.owner, b.admin, "root").wantProblem(t, http.StatusBadRequest, "invalid")

		var v httpapi.StaffUserView
		patch(b.owner, b.admin, accounts.StaffSupport).want(t, http.StatusOK).decode(t, &v)
		if v.StaffRole == nil || *v.StaffRole != accounts.StaffSupport {
			t.Errorf("after the change: %v, want support", v.StaffRole)
		}
		// The demoted admin's session now acts as support.
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 100, "description": "x"}).wantProblem(t, http.StatusForbidden, "forbidden")

		patch(b.owner, owner2, accounts.StaffAdmin).want(t, http.StatusOK)
		err := func() error {
			_, err := b.app.Accounts.SetStaffRole(context.Background(), accounts.Operator, b.owner.ID, accounts.StaffAdmin)
			return err
		}()
		if got := reasonOf(err); got != "last_owner" {
			t.Errorf("demoting the last owner: %v, want last_owner", err)
		}

		// Removing a staff role is held; a second owner approves it.
		patch(b.owner, owner2, accounts.StaffOwner).want(t, http.StatusOK)
		r := b.client.do("DELETE", "/api/v1/admin/staff/"+b.support.ID, b.owner.Token, nil)
		if got := b.staffRole(t, b.support.ID); got != accounts.StaffSupport {
			t.Fatalf("support's role before approval: %q", got)
		}
		done := b.approve(t, r, owner2)
		if done.ResultStatus != http.StatusNoContent {
			t.Fatalf("held removal answered %d %s", done.ResultStatus, done.Result)
		}
		if got := b.staffRole(t, b.support.ID); got != "" {
			t.Errorf("support's role after removal: %q, want none", got)
		}
		b.client.do("GET", "/api/v1/me", b.support.Token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		if n := b.count(t, "audit_events", "action = ? AND target_id = ?", "staff.delete", b.support.ID); n != 1 {
			t.Errorf("%d staff.delete events, want 1", n)
		}
	})
}

// reasonOf is the reason of an application error ("" for none).
func reasonOf(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Reason
	}
	return ""
}

// TestDeletingAUserAnonymizesThem: deleting a user is held by the shipped
// "Deleting a user" policy until another admin approves it; the user's
// address, sessions and memberships go, the row stays (deleted, disabled,
// never enabled again). The sole owner of an account with a live service
// is refused (sole_owner_live_services) and nothing changes; nobody
// deletes themselves or a user of their own role.
func TestDeletingAUserAnonymizesThem(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		del := func(actor, target user) *response {
			return b.client.do("DELETE", "/api/v1/admin/users/"+target.ID, actor.Token, nil)
		}
		// A customer who alone owns an account with a live service.
		holder := b.newUser(t, "holder")
		createService(t, b.app.DB, holder.AccountID)
		// A member of the customer's account, who owns nothing live.
		member := b.newUser(t, "member")
		b.addMember(t, b.customer.AccountID, member.ID, accounts.RoleTechnical)

		done := b.approve(t, del(b.admin, holder), b.admin2)
		if done.ResultStatus != http.StatusConflict || !json.Valid(done.Result) {
			t.Fatalf("held deletion of a sole owner answered %d %s", done.ResultStatus, done.Result)
		}
		var p httpapi.Problem
		if err := json.Unmarshal(done.Result, &p); err != nil || p.Code != "sole_owner_live_services" {
			t.Errorf("refusal %+v (%v), want sole_owner_live_services", p, err)
		}
		b.me(t, holder.Token)

		b.disablePolicy(t, "hrp_user_delete")
		del(b.admin, b.admin).wantProblem(t, http.StatusConflict, "conflict")
		del(b.admin, b.admin2).wantProblem(t, http.StatusForbidden, "staff_hierarchy")
		del(b.support, member).wantProblem(t, http.StatusForbidden, "forbidden")
		del(b.admin, member).want(t, http.StatusNoContent)
		del(b.admin, member).want(t, http.StatusNoContent) // already deleted: a no-op

		b.client.do("GET", "/api/v1/me", member.Token, nil).wantProblem(t, http.StatusUnauthorized, "invalid_token")
		b.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": member.Email, "password": member.Password}).
			wantProblem(t, http.StatusUnauthorized, "invalid_credentials")
		var page httpapi.List[httpapi.StaffUserView]
		b.client.do("GET", "/api/v1/admin/users?q="+member.ID, b.admin.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 1 {
			t.Fatalf("%d users for the deleted id, want 1", len(page.Data))
		}
		got := page.Data[0]
		want := struct {
			Email             string
			Deleted, Disabled bool
		}{"deleted-" + member.ID + "@deleted.invalid", true, true}
		if diff := cmp.Diff(want, struct {
			Email             string
			Deleted, Disabled bool
		}{got.Email, got.Deleted, got.Disabled}); diff != "" {
			t.Errorf("the deleted user (-want +got):\n%s", diff)
		}
		if n := b.count(t, "memberships", "user_id = ?", member.ID); n != 0 {
			t.Errorf("%d memberships left, want 0", n)
		}
		b.client.do("POST", "/api/v1/admin/users/"+member.ID+"/enable", b.admin.Token, nil).wantProblem(t, http.StatusConflict, "user_deleted")
		if n := b.count(t, "audit_events", "action = ? AND target_id = ?", "user.delete", member.ID); n != 1 {
			t.Errorf("%d user.delete events, want 1", n)
		}
		rep, err := audit.Verify(context.Background(), b.app.DB)
		if err != nil || !rep.OK {
			t.Fatalf("audit chain: %+v, %v", rep, err)
		}
	})
}

// TestStaffTurnOffAnotherUsersTwoFactor: an admin turns off a customer's
// two-factor authentication (the customer then logs in with the password
// alone and is told); the shipped alert policy tells the owners; a user
// without two-factor is 409; support staff may not.
func TestStaffTurnOffAnotherUsersTwoFactor(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		u := b.customer
		var enrolled struct {
			Secret string `json:"secret"`
		}
		b.client.do("POST", "/api/v1/me/2fa/enroll", u.Token, nil).want(t, http.StatusOK).decode(t, &enrolled)
		b.client.do("POST", "/api/v1/me/2fa/confirm", u.Token, map[string]string{"code": totpCode(t, enrolled.Secret, time.Now())}).want(t, http.StatusOK)
		b.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": u.Email, "password": u.Password}).
			wantProblem(t, http.StatusUnauthorized, "totp_required")

		path := "/api/v1/admin/users/" + u.ID + "/2fa/disable"
		b.client.do("POST", path, b.support.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		b.client.do("POST", path, b.admin.Token, nil).want(t, http.StatusNoContent)
		b.login(t, u.Email, u.Password)
		b.client.do("POST", path, b.admin.Token, nil).wantProblem(t, http.StatusConflict, "totp_disabled")
		if n := b.notified(t, b.owner.ID, "high_risk.alert"); n != 1 {
			t.Errorf("the owner got %d high_risk.alert, want 1", n)
		}
		if n := b.notified(t, u.ID, "security.2fa_disabled"); n != 1 {
			t.Errorf("the customer got %d security.2fa_disabled, want 1", n)
		}
	})
}

// TestBulkTerminationOverFiveServicesNeedsApproval: terminating six
// services at once is held by the shipped "Bulk termination" policy (its
// services_affected is the number listed) and runs, each service through
// the one-service termination, once another admin approves; two services
// end at once; a list with an ended or unknown service is refused 422,
// naming each, and terminates nothing.
func TestBulkTerminationOverFiveServicesNeedsApproval(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		var six []string
		for range 6 {
			six = append(six, createService(t, b.app.DB, b.customer.AccountID))
		}
		terminated := func() int {
			svcs, err := b.app.Billing.Services(context.Background(), services.Filter{AccountID: b.customer.AccountID,
				Status: services.StatusTerminated, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			return len(svcs)
		}
		const bulk = "/api/v1/admin/services/terminate"
		r := b.client.do("POST", bulk, b.admin.Token, map[string]any{"service_ids": six, "reason": "abuse"})
		var held approval.Approval
		r.decode(t, &held)
		if held.FactsView == nil || held.FactsView.ServicesAffected != 6 || held.PolicyName != "Bulk termination" {
			t.Errorf("held with facts %+v by %q, want services_affected 6 by Bulk termination", held.FactsView, held.PolicyName)
		}
		if n := terminated(); n != 0 {
			t.Fatalf("%d services terminated before approval", n)
		}
		done := b.approve(t, r, b.admin2)
		var out httpapi.BulkTerminateView
		if err := json.Unmarshal(done.Result, &out); err != nil {
			t.Fatal(err)
		}
		if out.Terminated != 6 || out.Failed != 0 || terminated() != 6 {
			t.Fatalf("after approval: %d terminated, %d failed, %d in the database", out.Terminated, out.Failed, terminated())
		}
		if n := b.count(t, "audit_events", "action = ? AND account_id = ?", "billing.service.terminate", b.customer.AccountID); n != 6 {
			t.Errorf("%d billing.service.terminate events, want 6", n)
		}

		two := []string{createService(t, b.app.DB, b.customer.AccountID), createService(t, b.app.DB, b.customer.AccountID)}
		p := b.client.do("POST", bulk, b.admin.Token, map[string]any{"service_ids": []string{two[0], six[0], "no-such", two[0]}}).
			wantProblem(t, http.StatusUnprocessableEntity, "services_not_terminable")
		var fields []string
		for _, e := range p.Errors {
			fields = append(fields, e.Field)
		}
		if diff := cmp.Diff([]string{"service_ids[1]", "service_ids[2]", "service_ids[3]"}, fields); diff != "" {
			t.Errorf("refusal fields (-want +got):\n%s", diff)
		}
		if n := terminated(); n != 6 {
			t.Fatalf("a refused list terminated services: %d", n)
		}
		b.client.do("POST", bulk, b.admin.Token, map[string]any{"service_ids": two}).want(t, http.StatusOK).decode(t, &out)
		if out.Terminated != 2 || terminated() != 8 {
			t.Errorf("two services: %d terminated, %d in the database", out.Terminated, terminated())
		}
	})
}
