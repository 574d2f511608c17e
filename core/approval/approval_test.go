package approval_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/testkit"
)

// staffDir is the staff directory of the tests: the users created by
// testBundle.staff.
type staffDir struct{ db *database.DB }

func (d staffDir) StaffIDs(ctx context.Context, roles ...string) ([]string, error) {
	var ids []string
	err := d.db.Read.NewSelect().Model((*accounts.User)(nil)).Column("id").Where("staff_role IN (?)", bun.List(roles)).Order("id").Scan(ctx, &ids)
	return ids, err
}

func (d staffDir) User(ctx context.Context, id string) (*accounts.User, error) {
	u := &accounts.User{}
	return u, d.db.Read.NewSelect().Model(u).Where("id = ?", id).Scan(ctx)
}

// notes records what the gate notified.
type notes struct{ types []notify.Type }

func (n *notes) Notify(_ context.Context, _ bun.Tx, ev notify.Event) error {
	n.types = append(n.types, ev.Type)
	return nil
}

type testBundle struct {
	db    *database.DB
	svc   *approval.Service
	clock *testkit.Clock
	notes *notes
}

func setup(t *testing.T, db *database.DB) *testBundle {
	t.Helper()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	n := &notes{}
	opts := approval.DefaultOptions()
	opts.Now = clock.Now
	svc := approval.New(approval.Deps{DB: db, Notifier: n, Staff: staffDir{db: db}}, opts)
	return &testBundle{db: db, svc: svc, clock: clock, notes: n}
}

func (tb *testBundle) staff(t *testing.T, role string) *accounts.Principal {
	t.Helper()
	id, err := accountstest.Staff(context.Background(), tb.db, uuid.NewString()+"@example.com", role)
	if err != nil {
		t.Fatal(err)
	}
	return &accounts.Principal{UserID: id, StaffRole: role, TokenKind: accounts.KindSession}
}

// hold makes a pending approval of a credit adjustment (admin route).
func (tb *testBundle) hold(t *testing.T, by *accounts.Principal) *approval.Approval {
	t.Helper()
	p, err := tb.svc.Policy(context.Background(), "hrp_large_credit")
	if err != nil {
		t.Fatal(err)
	}
	a, created, err := tb.svc.Hold(context.Background(), approval.Request{
		Method: "POST", Path: "/api/v1/admin/accounts/acc/credit/adjustments", Route: "/api/v1/admin/accounts/{account_id}/credit/adjustments",
		Body: []byte(`{"amount":90000,"description":"x"}`), ContentType: "application/json", Principal: by, RequiredRole: accounts.StaffAdmin,
		Action: approval.Action{Action: "credit.adjust", ActorID: by.UserID, ActorRole: by.StaffRole, Amount: 90000}, Policy: p,
	})
	if err != nil || !created {
		t.Fatalf("hold: %v (created %v)", err, created)
	}
	return a
}

// TestApprovalStateMachine drives every transition of an approval from
// each state: the legal ones land in their state, every other one is
// refused with the reason it names, and the state does not move.
func TestApprovalStateMachine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	type op struct {
		name string
		do   func(tb *testBundle, a *approval.Approval, requester, approver *accounts.Principal) error
	}
	approve := op{"approve", func(tb *testBundle, a *approval.Approval, _, by *accounts.Principal) error {
		_, err := tb.svc.Approve(ctx, approval.Approver{UserID: by.UserID, StaffRole: by.StaffRole}, a.ID, "ok")
		return err
	}}
	reject := op{"reject", func(tb *testBundle, a *approval.Approval, _, by *accounts.Principal) error {
		_, err := tb.svc.Reject(ctx, approval.Approver{UserID: by.UserID, StaffRole: by.StaffRole}, a.ID, "no")
		return err
	}}
	cancel := op{"cancel", func(tb *testBundle, a *approval.Approval, req, _ *accounts.Principal) error {
		_, err := tb.svc.Cancel(ctx, req.UserID, a.ID)
		return err
	}}
	finishOK := op{"finish 201", func(tb *testBundle, a *approval.Approval, _, _ *accounts.Principal) error {
		return tb.svc.Finish(ctx, a.ID, 201, []byte(`{}`))
	}}
	finishFail := op{"finish 402", func(tb *testBundle, a *approval.Approval, _, _ *accounts.Principal) error {
		return tb.svc.Finish(ctx, a.ID, 402, []byte(`{}`))
	}}
	expire := op{"expire", func(tb *testBundle, a *approval.Approval, _, _ *accounts.Principal) error {
		tb.clock.Add(tb.svc.TTL())
		n, err := tb.svc.ExpireDue(ctx)
		if err == nil && n == 0 {
			return apperr.New(apperr.Conflict, "nothing expired").WithReason("approval_not_pending")
		}
		return err
	}}
	ops := []op{approve, reject, cancel, finishOK, finishFail, expire}
	// The path to each state from a fresh approval.
	paths := map[string][]op{
		approval.StatePending:   nil,
		approval.StateApproved:  {approve},
		approval.StateExecuted:  {approve, finishOK},
		approval.StateFailed:    {approve, finishFail},
		approval.StateRejected:  {reject},
		approval.StateCancelled: {cancel},
		approval.StateExpired:   {expire},
	}
	// legal[from][op] is the state op leads to; anything else is refused.
	legal := map[string]map[string]string{
		approval.StatePending: {"approve": approval.StateApproved, "reject": approval.StateRejected,
			"cancel": approval.StateCancelled, "expire": approval.StateExpired},
		approval.StateApproved: {"finish 201": approval.StateExecuted, "finish 402": approval.StateFailed},
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		for _, from := range approval.States {
			for _, o := range ops {
				t.Run(from+"/"+o.name, func(t *testing.T) {
					tb := setup(t, db)
					requester, approver := tb.staff(t, accounts.StaffAdmin), tb.staff(t, accounts.StaffOwner)
					a := tb.hold(t, requester)
					for _, step := range paths[from] {
						if err := step.do(tb, a, requester, approver); err != nil {
							t.Fatalf("reaching %s by %s: %v", from, step.name, err)
						}
					}
					err := o.do(tb, a, requester, approver)
					got, gerr := tb.svc.Get(ctx, a.ID)
					if gerr != nil {
						t.Fatal(gerr)
					}
					want, ok := legal[from][o.name]
					if !ok {
						e, isApp := apperr.As(err)
						if !isApp || e.Code != apperr.Conflict {
							t.Fatalf("%s from %s: %v, want a Conflict refusal", o.name, from, err)
						}
						want = from
					} else if err != nil {
						t.Fatalf("%s from %s: %v", o.name, from, err)
					}
					if got.State != want {
						t.Errorf("%s from %s: state %s, want %s", o.name, from, got.State, want)
					}
				})
			}
		}
	})
}

// TestSelfApprovalRefused: whoever made the request can neither approve
// nor reject it, whatever their role, and a lower role than the route's
// cannot decide it.
func TestSelfApprovalRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		owner, support := tb.staff(t, accounts.StaffOwner), tb.staff(t, accounts.StaffSupport)
		a := tb.hold(t, owner)
		var got []string
		for _, c := range []struct {
			by     *accounts.Principal
			decide func(approval.Approver, string, string) (*approval.Approval, error)
		}{{owner, func(b approval.Approver, id, r string) (*approval.Approval, error) {
			return tb.svc.Approve(ctx, b, id, r)
		}},
			{owner, func(b approval.Approver, id, r string) (*approval.Approval, error) {
				return tb.svc.Reject(ctx, b, id, r)
			}},
			{support, func(b approval.Approver, id, r string) (*approval.Approval, error) {
				return tb.svc.Approve(ctx, b, id, r)
			}}} {
			_, err := c.decide(approval.Approver{UserID: c.by.UserID, StaffRole: c.by.StaffRole}, a.ID, "mine")
			var e *apperr.Error
			if !errors.As(err, &e) {
				t.Fatalf("decision: %v", err)
			}
			got = append(got, fmt.Sprintf("%s/%s", e.Code, e.Reason))
		}
		want := []string{"forbidden/self_approval", "forbidden/self_approval", "forbidden/approver_role"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("refusals (-want +got):\n%s", diff)
		}
		if st, _ := tb.svc.Get(ctx, a.ID); st.State != approval.StatePending {
			t.Errorf("state %s, want pending", st.State)
		}
	})
}

// TestHeldBodySealedAtRest: with a sealer the stored body is not the
// request's text, and Body opens it.
func TestHeldBodySealedAtRest(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		key := make([]byte, 32)
		kr, err := accounts.NewKeyring(key)
		if err != nil {
			t.Fatal(err)
		}
		tb := setup(t, db)
		opts := approval.DefaultOptions()
		tb.svc = approval.New(approval.Deps{DB: db, Notifier: tb.notes, Staff: staffDir{db: db}, Sealer: kr}, opts)
		a := tb.hold(t, tb.staff(t, accounts.StaffAdmin))
		var stored string
		if err := db.NewSelect().Table("approvals").Column("body").Where("id = ?", a.ID).Scan(context.Background(), &stored); err != nil {
			t.Fatal(err)
		}
		if stored == `{"amount":90000,"description":"x"}` {
			t.Fatal("the held body is stored in clear")
		}
		got, err := tb.svc.Get(context.Background(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(`{"amount":90000,"description":"x"}`, string(got.RequestBody)); diff != "" {
			t.Errorf("opened body (-want +got):\n%s", diff)
		}
	})
}

// queryCounter counts the queries of a bun handle.
type queryCounter struct{ queries []string }

func (c *queryCounter) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	return ctx
}
func (c *queryCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	c.queries = append(c.queries, e.Query)
}

// TestEvaluateReadsOneRowWhenCached: with 20 enabled policies on other
// actions and on the action itself, deciding an action that matches none
// reads the database once (the policies' version, by primary key) once
// the policies are compiled; a policy change is seen on the next call.
func TestEvaluateReadsOneRowWhenCached(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		counter := &queryCounter{}
		counted := *db
		counted.Read = db.Read.WithQueryHook(counter)
		svc := approval.New(approval.Deps{DB: &counted, Notifier: &notes{}, Staff: staffDir{db: db}}, approval.DefaultOptions())
		outcome := approval.OutcomeRequireApproval
		for i := range 20 {
			name, rule := fmt.Sprintf("p%02d", i), fmt.Sprintf("amount > %d", 1_000_000+i)
			actions := []string{"credit.adjust"}
			if i%2 == 1 {
				actions = []string{fmt.Sprintf("other.action_%d", i)}
			}
			if _, err := svc.CreatePolicy(ctx, approval.PolicyInput{Name: &name, Rule: &rule, Outcome: &outcome, Actions: &actions}); err != nil {
				t.Fatal(err)
			}
		}
		act := approval.Action{Action: "credit.adjust", Amount: 100}
		if d, err := svc.Evaluate(ctx, act); err != nil || d.Approval != nil || len(d.Alerts) != 0 {
			t.Fatalf("first evaluation: %+v, %v", d, err)
		}
		counter.queries = nil
		for range 5 {
			d, err := svc.Evaluate(ctx, act)
			if err != nil || d.Approval != nil || len(d.Alerts) != 0 {
				t.Fatalf("evaluation: %+v, %v", d, err)
			}
		}
		if len(counter.queries) != 5 {
			t.Fatalf("%d queries for 5 cached evaluations, want 5: %q", len(counter.queries), counter.queries)
		}
		for _, q := range counter.queries {
			if !strings.Contains(q, "high_risk_policy_version") || !strings.Contains(q, "id = 1") {
				t.Errorf("query %q is not the version read by primary key", q)
			}
		}
		// A change is seen at once: the 1,000,000 policy now matches.
		rule := "amount > 50"
		ps, _ := svc.Policies(ctx)
		var p00 string
		for _, p := range ps {
			if p.Name == "p00" {
				p00 = p.ID
			}
		}
		if _, err := svc.UpdatePolicy(ctx, p00, approval.PolicyInput{Rule: &rule}); err != nil {
			t.Fatal(err)
		}
		if d, err := svc.Evaluate(ctx, act); err != nil || d.Approval == nil || d.Approval.ID != p00 {
			t.Fatalf("after the change: %+v, %v", d, err)
		}
	})
}
