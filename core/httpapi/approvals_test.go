package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// approvalBundle is an application with a customer account and staff of
// each role: two admins (a requester and an approver), a support member
// and an owner.
type approvalBundle struct {
	*appBundle
	customer       user
	admin, admin2  user
	support, owner user
	adjust         string
}

func setupApprovals(t *testing.T, d database.Dialect, url string) *approvalBundle {
	t.Helper()
	tb := startApp(t, d, url)
	b := &approvalBundle{appBundle: tb, customer: tb.newUser(t, "customer")}
	b.admin, b.admin2 = tb.newStaff(t, accounts.StaffAdmin), tb.newStaff(t, accounts.StaffAdmin)
	b.support, b.owner = tb.newStaff(t, accounts.StaffSupport), tb.newStaff(t, accounts.StaffOwner)
	b.adjust = "/api/v1/admin/accounts/" + b.customer.AccountID + "/credit/adjustments"
	// The shipped large-credit policy alerts; these tests hold with it.
	tb.client.do("PATCH", "/api/v1/admin/high-risk-policies/hrp_large_credit", b.owner.Token, map[string]any{"outcome": "require_approval"}).want(t, http.StatusOK)
	return b
}

// notified counts the in-app notifications of type for a user.
func (b *approvalBundle) notified(t *testing.T, userID, typ string) int {
	t.Helper()
	var n int
	err := b.app.DB.NewRaw("SELECT COUNT(*) FROM notifications AS n JOIN notification_events AS e ON e.id = n.event_id WHERE n.user_id = ? AND e.type = ?",
		userID, typ).Scan(context.Background(), &n)
	if err != nil {
		t.Fatalf("counting notifications: %v", err)
	}
	return n
}

func (b *approvalBundle) entries(t *testing.T) int {
	t.Helper()
	es, err := b.app.Billing.Ledger().Entries(context.Background(), b.customer.AccountID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestHeldAdjustmentApprovedByAnotherAdminRuns: a credit adjustment over
// the shipped "Large credit adjustment" policy is held (202, Location, no
// entry); a retry with the same Idempotency-Key finds the same approval;
// the requester cannot approve it, a support member (below the route's
// admin role) cannot either; a second admin's approval executes it once,
// as the requester, and the adjustment's audit event names the approval's
// event and the approver; a second approval is refused.
func TestHeldAdjustmentApprovedByAnotherAdminRuns(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		body := map[string]any{"amount": 75000, "description": "bank transfer"}
		r := b.client.do("POST", b.adjust, b.admin.Token, body, "Idempotency-Key", "big-1").want(t, http.StatusAccepted)
		var held approval.Approval
		r.decode(t, &held)
		if got := r.Header.Get("Location"); got != "/api/v1/admin/approvals/"+held.ID {
			t.Errorf("Location %q, want the approval %s", got, held.ID)
		}
		want := struct{ State, Action, Policy, Role, By string }{approval.StatePending, "credit.adjust", "Large credit adjustment", accounts.StaffAdmin, b.admin.ID}
		got := struct{ State, Action, Policy, Role, By string }{held.State, held.Action, held.PolicyName, held.RequiredRole, held.RequestedBy}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("held approval (-want +got):\n%s", diff)
		}
		if n := b.entries(t); n != 0 {
			t.Fatalf("%d credit entries before approval, want 0", n)
		}
		var again approval.Approval
		b.client.do("POST", b.adjust, b.admin.Token, body, "Idempotency-Key", "big-1").want(t, http.StatusAccepted).decode(t, &again)
		if again.ID != held.ID {
			t.Errorf("retry made approval %s, want the first %s", again.ID, held.ID)
		}
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 75001, "description": "bank transfer"}, "Idempotency-Key", "big-1").
			wantProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
		if n := b.count(t, "approvals", "requested_by = ?", b.admin.ID); n != 1 {
			t.Errorf("%d approvals, want 1", n)
		}
		if n := b.notified(t, b.admin2.ID, "approval.requested"); n != 1 {
			t.Errorf("the other admin got %d approval.requested, want 1", n)
		}

		approve := "/api/v1/admin/approvals/" + held.ID + "/approve"
		b.client.do("POST", approve, b.admin.Token, map[string]string{}).wantProblem(t, http.StatusForbidden, "self_approval")
		b.client.do("POST", approve, b.support.Token, map[string]string{}).wantProblem(t, http.StatusForbidden, "approver_role")
		var done approval.Approval
		b.client.do("POST", approve, b.admin2.Token, map[string]string{"reason": "confirmed with the bank"}).want(t, http.StatusOK).decode(t, &done)
		if done.State != approval.StateExecuted || done.ResultStatus != http.StatusCreated || done.DecidedBy != b.admin2.ID {
			t.Fatalf("after approval: state %s, result %d %s, decided by %s", done.State, done.ResultStatus, done.Result, done.DecidedBy)
		}
		var steps []string
		for _, h := range done.History {
			steps = append(steps, h.From+">"+h.To)
		}
		if diff := cmp.Diff([]string{">pending", "pending>approved", "approved>executed"}, steps); diff != "" {
			t.Errorf("history (-want +got):\n%s", diff)
		}
		if n := b.entries(t); n != 1 {
			t.Fatalf("%d credit entries after approval, want 1", n)
		}
		b.client.do("POST", approve, b.owner.Token, map[string]string{}).wantProblem(t, http.StatusConflict, "approval_not_pending")
		if n := b.entries(t); n != 1 {
			t.Fatalf("%d credit entries after a second approval, want 1", n)
		}

		var ev audit.Record
		if err := b.app.DB.NewSelect().Model(&ev).Where("action LIKE ?", "billing.credit%").Where("account_id = ?", b.customer.AccountID).
			Order("seq DESC").Limit(1).Scan(context.Background()); err != nil {
			t.Fatalf("reading the adjustment's audit event: %v", err)
		}
		var changes map[string]any
		if err := json.Unmarshal([]byte(ev.Changes), &changes); err != nil {
			t.Fatal(err)
		}
		gotRef := map[string]any{"actor": ev.ActorID, "approval_id": changes["approval_id"], "approval_event_id": changes["approval_event_id"], "approved_by": changes["approved_by"]}
		wantRef := map[string]any{"actor": b.admin.ID, "approval_id": held.ID, "approval_event_id": done.DecisionEventID, "approved_by": b.admin2.ID}
		if diff := cmp.Diff(wantRef, gotRef); diff != "" {
			t.Errorf("the adjustment's audit event (-want +got):\n%s", diff)
		}
		rep, err := audit.Verify(context.Background(), b.app.DB)
		if err != nil || !rep.OK {
			t.Fatalf("audit chain: %+v, %v", rep, err)
		}
	})
}

// TestApproversRacingExecuteOnce: two admins approve the same held request
// at once; exactly one approval executes it, the other is refused 409, and
// the account has one adjustment.
func TestApproversRacingExecuteOnce(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		admin3 := b.newStaff(t, accounts.StaffAdmin)
		for round := range 5 {
			var held approval.Approval
			b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 60000 + round, "description": "race"}).
				want(t, http.StatusAccepted).decode(t, &held)
			start := make(chan struct{})
			statuses := make([]int, 3)
			var wg sync.WaitGroup
			for i, approver := range []user{b.admin2, admin3, b.owner} {
				wg.Go(func() {
					<-start
					statuses[i] = b.client.do("POST", "/api/v1/admin/approvals/"+held.ID+"/approve", approver.Token, map[string]string{}).Status
				})
			}
			close(start)
			wg.Wait()
			ok, conflict := 0, 0
			for _, s := range statuses {
				switch s {
				case http.StatusOK:
					ok++
				case http.StatusConflict:
					conflict++
				}
			}
			if ok != 1 || conflict != 2 {
				t.Fatalf("round %d: statuses %v, want one 200 and two 409", round, statuses)
			}
			if n := b.entries(t); n != round+1 {
				t.Fatalf("round %d: %d credit entries, want %d", round, n, round+1)
			}
		}
	})
}

// TestApprovalAfterExpiryIsRefusedAndNeverRuns: an approval past its TTL
// is refused (409 approval_expired), becomes expired, the requester is
// told, and the held adjustment never happens; the expiry sweep expires
// another one the same way.
func TestApprovalAfterExpiryIsRefusedAndNeverRuns(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		var first, second approval.Approval
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 90000, "description": "late"}).want(t, http.StatusAccepted).decode(t, &first)
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 91000, "description": "later"}).want(t, http.StatusAccepted).decode(t, &second)
		// The TTL passes: the approvals' deadline moves into the past.
		past := time.Now().UTC().Add(-time.Minute)
		if _, err := b.app.DB.NewUpdate().Table("approvals").Set("expires_at = ?", past).Where("requested_by = ?", b.admin.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.client.do("POST", "/api/v1/admin/approvals/"+first.ID+"/approve", b.admin2.Token, map[string]string{}).wantProblem(t, http.StatusConflict, "approval_expired")
		var got approval.Approval
		b.client.do("GET", "/api/v1/admin/approvals/"+first.ID, b.admin2.Token, nil).want(t, http.StatusOK).decode(t, &got)
		if got.State != approval.StateExpired {
			t.Errorf("state %s after a late approval, want expired", got.State)
		}
		b.client.do("POST", "/api/v1/admin/approvals/"+first.ID+"/approve", b.owner.Token, map[string]string{}).wantProblem(t, http.StatusConflict, "approval_not_pending")

		n, err := b.app.Approvals.ExpireDue(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("ExpireDue: %d, %v; want 1", n, err)
		}
		b.client.do("POST", "/api/v1/admin/approvals/"+second.ID+"/approve", b.admin2.Token, map[string]string{}).wantProblem(t, http.StatusConflict, "approval_not_pending")
		if n := b.entries(t); n != 0 {
			t.Fatalf("%d credit entries, want 0: an expired request never runs", n)
		}
		if n := b.notified(t, b.admin.ID, "approval.expired"); n != 2 {
			t.Errorf("the requester got %d approval.expired, want 2", n)
		}
	})
}

// TestRejectAndCancel: a rejection needs a reason and tells the requester;
// only the requester cancels; neither runs the request.
func TestRejectAndCancel(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		var a1, a2 approval.Approval
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 80000, "description": "one"}).want(t, http.StatusAccepted).decode(t, &a1)
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": -80000, "description": "two"}).want(t, http.StatusAccepted).decode(t, &a2)

		b.client.do("POST", "/api/v1/admin/approvals/"+a1.ID+"/reject", b.admin2.Token, map[string]string{}).wantProblem(t, http.StatusBadRequest, "invalid")
		var rej approval.Approval
		b.client.do("POST", "/api/v1/admin/approvals/"+a1.ID+"/reject", b.admin2.Token, map[string]string{"reason": "not agreed"}).want(t, http.StatusOK).decode(t, &rej)
		if rej.State != approval.StateRejected || rej.DecisionReason != "not agreed" {
			t.Errorf("rejected: state %s, reason %q", rej.State, rej.DecisionReason)
		}
		if n := b.notified(t, b.admin.ID, "approval.rejected"); n != 1 {
			t.Errorf("the requester got %d approval.rejected, want 1", n)
		}
		b.client.do("POST", "/api/v1/admin/approvals/"+a2.ID+"/cancel", b.admin2.Token, nil).wantProblem(t, http.StatusForbidden, "not_requester")
		b.client.do("POST", "/api/v1/admin/approvals/"+a2.ID+"/cancel", b.admin.Token, nil).want(t, http.StatusOK)
		b.client.do("POST", "/api/v1/admin/approvals/"+a2.ID+"/approve", b.admin2.Token, map[string]string{}).wantProblem(t, http.StatusConflict, "approval_not_pending")

		var page struct {
			Data []approval.Approval `json:"data"`
		}
		b.client.do("GET", "/api/v1/admin/approvals?state=cancelled", b.support.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != a2.ID {
			t.Errorf("cancelled approvals: %+v, want %s", page.Data, a2.ID)
		}
		if n := b.entries(t); n != 0 {
			t.Fatalf("%d credit entries, want 0", n)
		}
	})
}

// TestAlertPolicyNotifiesOwnersAndRuns: an owner adds an alert policy; a
// matching adjustment runs at once and the owners are told; a gated action
// no policy matches runs normally, with no alert; disabling the shipped
// large-credit policy lets a large adjustment through (the cached policies
// follow the change).
func TestAlertPolicyNotifiesOwnersAndRuns(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		policies := "/api/v1/admin/high-risk-policies"
		in := map[string]any{"name": "Any goodwill credit", "actions": []string{"credit.adjust"}, "rule": "amount >= 1000 && amount < 50000", "outcome": "alert"}
		b.client.do("POST", policies, b.admin.Token, in).wantProblem(t, http.StatusForbidden, "forbidden")
		b.client.do("POST", policies, b.owner.Token, in).want(t, http.StatusCreated)

		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 999, "description": "small"}).want(t, http.StatusCreated)
		if n := b.notified(t, b.owner.ID, "high_risk.alert"); n != 0 {
			t.Fatalf("owner got %d alerts for a non-matching action, want 0", n)
		}
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 2500, "description": "goodwill"}).want(t, http.StatusCreated)
		if n := b.notified(t, b.owner.ID, "high_risk.alert"); n != 1 {
			t.Errorf("owner got %d high_risk.alert, want 1", n)
		}
		if n := b.count(t, "audit_events", "action = ?", "approval.alert"); n != 1 {
			t.Errorf("%d approval.alert events, want 1", n)
		}
		if n := b.entries(t); n != 2 {
			t.Errorf("%d credit entries, want 2: alerts do not hold", n)
		}

		b.client.do("PATCH", policies+"/hrp_large_credit", b.owner.Token, map[string]any{"enabled": false}).want(t, http.StatusOK)
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 70000, "description": "now allowed"}).want(t, http.StatusCreated)
		if n := b.count(t, "audit_events", "action = ? AND target_id = ?", "approval.policy.update", "hrp_large_credit"); n != 2 {
			t.Errorf("%d approval.policy.update events, want 2 (the setup's and this one)", n)
		}
	})
}

// TestPolicyRuleErrorsCarryThePosition: a rule that does not compile is
// 422 invalid_rule with the line and column of the problem, and nothing is
// stored.
func TestPolicyRuleErrorsCarryThePosition(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		before := b.count(t, "high_risk_policies", "1 = 1")
		p := b.client.do("POST", "/api/v1/admin/high-risk-policies", b.owner.Token, map[string]any{
			"name": "broken", "actions": []string{"credit.adjust"}, "rule": "amount >\n  no_such_field", "outcome": "alert",
		}).wantProblem(t, http.StatusUnprocessableEntity, "invalid_rule")
		if len(p.Errors) != 1 || p.Errors[0].Field != "rule" || p.Errors[0].Line != 2 || p.Errors[0].Column != 3 {
			t.Errorf("errors %+v, want rule at 2:3", p.Errors)
		}
		b.client.do("PATCH", "/api/v1/admin/high-risk-policies/hrp_large_credit", b.owner.Token, map[string]any{"rule": "amount >"}).
			wantProblem(t, http.StatusUnprocessableEntity, "invalid_rule")
		if after := b.count(t, "high_risk_policies", "1 = 1"); after != before {
			t.Errorf("%d policies after refusals, want %d", after, before)
		}
	})
}

// TestTamperedApprovalEventsAreDetected: altering the audit event of an
// approval breaks the chain at that event.
func TestTamperedApprovalEventsAreDetected(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		b := setupApprovals(t, d, url)
		var held approval.Approval
		b.client.do("POST", b.adjust, b.admin.Token, map[string]any{"amount": 99000, "description": "t"}).want(t, http.StatusAccepted).decode(t, &held)
		var done approval.Approval
		b.client.do("POST", "/api/v1/admin/approvals/"+held.ID+"/approve", b.admin2.Token, map[string]string{}).want(t, http.StatusOK).decode(t, &done)
		var seq int64
		if err := b.app.DB.NewSelect().Table("audit_events").Column("seq").Where("id = ?", done.DecisionEventID).Scan(context.Background(), &seq); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if d == database.SQLite {
			_, _ = b.app.DB.ExecContext(ctx, "DROP TRIGGER audit_events_no_update")
		} else {
			_, _ = b.app.DB.ExecContext(ctx, "ALTER TABLE audit_events DISABLE TRIGGER USER")
		}
		// Claim someone else approved it.
		if _, err := b.app.DB.ExecContext(ctx, "UPDATE audit_events SET actor_id = ? WHERE seq = ?", b.owner.ID, seq); err != nil {
			t.Fatal(err)
		}
		rep, err := audit.Verify(ctx, b.app.DB)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || rep.BadSeq != seq {
			t.Errorf("verify: ok %v, bad seq %d (%s); want broken at %d", rep.OK, rep.BadSeq, rep.Problem, seq)
		}
	})
}
