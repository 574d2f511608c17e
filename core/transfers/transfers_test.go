package transfers_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/testkit"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/scheduler/schedulertest"
	"github.com/ezscale/platform/core/transfers"
)

const staff = "staff-user"

// TestTransferCompletesWithProration: request → accept → staff approval
// moves the service, its add-on's share, automated task and recovery
// settings to the receiver in one transaction; it leaves its project and
// loses its dependencies; the sender is credited 15 of the 29 days of
// February 2024 of 3,600 (the plan's 3,000 and two add-on units of 300) =
// 1,862, and the receiver is invoiced the same days, due now; both sides
// are told at each step.
func TestTransferCompletesWithProration(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		svc := tb.service(t, tb.sender, "web-1", 3000)
		other := tb.service(t, tb.sender, "db-1", 3000)
		addon, err := catalogtest.Addon(tb.ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		tb.must(t, billingtest.ServiceAddon(tb.ctx, db, svc, addon, 2, 300))
		if _, err := schedulertest.Task(tb.ctx, db, tb.sender.AccountID, svc, "backup", "0 3 * * *"); err != nil {
			t.Fatal(err)
		}
		tb.must(t, schedulertest.Recovery(tb.ctx, db, tb.sender.AccountID, svc, "http", "https://web-1.example.test", time.Now().UTC()))
		pa := projects.Actor{AccountID: tb.sender.AccountID, Role: "owner"}
		proj, err := tb.p.CreateProject(tb.ctx, pa, projects.ProjectInput{Name: "shop"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tb.p.MoveServices(tb.ctx, pa, proj.ID, projects.MoveInput{ServiceIDs: []string{svc, other}}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.p.AddDependency(tb.ctx, pa, projects.DependencyInput{ServiceID: svc, DependsOnID: other, Type: projects.TypeDatabase}); err != nil {
			t.Fatal(err)
		}

		tr := tb.request(t, svc)
		if tr.Status != transfers.StatusPending || tr.ToAccountID != tb.receiver.AccountID || tr.ServiceLabel != "web-1" {
			t.Fatalf("requested: %+v", tr)
		}
		tr, err = tb.t.Accept(tb.ctx, tb.receiver, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != transfers.StatusAccepted || tb.accountOf(t, svc) != tb.sender.AccountID {
			t.Fatalf("accepted: %s, service of %s", tr.Status, tb.accountOf(t, svc))
		}
		tr, err = tb.t.Approve(tb.ctx, staff, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		type settlement struct {
			Status                string
			Prorated              int64
			DaysLeft, DaysInCycle int
		}
		if diff := cmp.Diff(settlement{transfers.StatusCompleted, 1862, 15, 29}, settlement{tr.Status, tr.Prorated, tr.DaysLeft, tr.DaysInCycle}); diff != "" {
			t.Errorf("settlement (-want +got):\n%s", diff)
		}
		if got := tb.accountOf(t, svc); got != tb.receiver.AccountID {
			t.Errorf("service belongs to %s, want the receiver", got)
		}
		bal, err := tb.b.Ledger().Balance(tb.ctx, tb.sender.AccountID, "USD")
		if err != nil {
			t.Fatal(err)
		}
		if bal.Amount != 1862 {
			t.Errorf("sender's credit %d, want 1862", bal.Amount)
		}
		inv, err := tb.b.Invoice(tb.ctx, tb.receiver.AccountID, tr.ReceiverInvoiceID)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Total != 1862 || inv.Status != billing.InvoiceOpen || !inv.DueAt.Equal(tb.clock.Now()) || len(inv.Lines) != 1 ||
			!strings.Contains(inv.Lines[0].Description, "Transfer of web-1, 15 of 29 days (2024-02-15 – 2024-03-01)") {
			t.Errorf("receiver's invoice: %s %d due %s %+v", inv.Status, inv.Total, inv.DueAt, inv.Lines)
		}
		var moved struct {
			Tasks, Recovery, Projects, Dependencies int
		}
		tasks, err := tb.sch.Tasks(tb.ctx, tb.receiver.AccountID, svc, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		moved.Tasks = len(tasks)
		switch _, err := tb.sch.Recovery(tb.ctx, tb.receiver.AccountID, svc); {
		case err == nil:
			moved.Recovery = 1
		case apperr.CodeOf(err) != apperr.NotFound:
			t.Fatal(err)
		}
		for _, acc := range []string{tb.sender.AccountID, tb.receiver.AccountID} {
			a := projects.Actor{AccountID: acc, Role: "owner"}
			inProjects, _, err := tb.p.ServiceScope(tb.ctx, a, projects.NoProject)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(inProjects, svc) {
				moved.Projects++
			}
			for _, f := range []projects.DependencyFilter{{ServiceID: svc, Limit: 100}, {DependsOnID: svc, Limit: 100}} {
				deps, err := tb.p.Dependencies(tb.ctx, a, f)
				if err != nil {
					t.Fatal(err)
				}
				moved.Dependencies += len(deps)
			}
		}
		if diff := cmp.Diff(struct{ Tasks, Recovery, Projects, Dependencies int }{1, 1, 0, 0}, moved); diff != "" {
			t.Errorf("what moved with the service (-want +got):\n%s", diff)
		}
		want := []notice{
			{notify.TransferRequested, tb.receiver.AccountID, "pending"},
			{notify.TransferUpdated, tb.sender.AccountID, "accepted"},
			{notify.TransferCompleted, tb.sender.AccountID, "completed"},
			{notify.TransferCompleted, tb.receiver.AccountID, "completed"},
		}
		if diff := cmp.Diff(want, tb.notices.take()); diff != "" {
			t.Errorf("notifications (-want +got):\n%s", diff)
		}
		actions := tb.auditActions(t, tr.ID, svc)
		wantActions := []string{"transfer.request", "transfer.accept", "billing.service.transferred_out", "billing.service.transferred_in",
			"transfer.complete", "transfer.complete"}
		if diff := cmp.Diff(wantActions, actions); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})
}

// TestTransferCompletesOnce: approving a completed transfer again, and
// staff members racing to approve it, move the service once: one credit
// to the sender, one invoice to the receiver, one completion audited per
// account.
func TestTransferCompletesOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		svc := tb.service(t, tb.sender, "web-1", 2900)
		tr := tb.request(t, svc)
		if _, err := tb.t.Accept(tb.ctx, tb.receiver, tr.ID); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = tb.t.Approve(tb.ctx, staff, tr.ID)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		again, err := tb.t.Approve(tb.ctx, staff, tr.ID)
		if err != nil || again.Status != transfers.StatusCompleted {
			t.Fatalf("approved again: %v %+v", err, again)
		}
		var counts struct{ Credits, Invoices, Completions int }
		entries, err := tb.b.Ledger().Entries(tb.ctx, tb.sender.AccountID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if e.IdempotencyKey != nil && *e.IdempotencyKey == "transfer:"+tr.ID {
				counts.Credits++
			}
		}
		invs, err := tb.b.Invoices(tb.ctx, billing.InvoiceFilter{AccountID: tb.receiver.AccountID, ServiceID: svc, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		counts.Invoices = len(invs)
		for _, a := range tb.auditActions(t, tr.ID) {
			if a == "transfer.complete" {
				counts.Completions++
			}
		}
		if diff := cmp.Diff(struct{ Credits, Invoices, Completions int }{1, 1, 2}, counts); diff != "" {
			t.Errorf("effects of the completion (-want +got):\n%s", diff)
		}
		// 15 of 29 days of 2,900 = 1,500, credited once.
		if bal, _ := tb.b.Ledger().Balance(tb.ctx, tb.sender.AccountID, "USD"); bal.Amount != 1500 {
			t.Errorf("sender's credit %d, want 1500", bal.Amount)
		}
	})
}

// TestTransferWithoutStaffApproval: with transfers.require_staff_approval
// off, the receiver's acceptance completes the transfer.
func TestTransferWithoutStaffApproval(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noStaffApproval: true})
		svc := tb.service(t, tb.sender, "web-1", 2900)
		tr, err := tb.t.Accept(tb.ctx, tb.receiver, tb.request(t, svc).ID)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != transfers.StatusCompleted || tr.AcceptedBy != tb.receiver.UserID || tb.accountOf(t, svc) != tb.receiver.AccountID {
			t.Errorf("accepted without staff: %s by %s, service of %s", tr.Status, tr.AcceptedBy, tb.accountOf(t, svc))
		}
	})
}

// TestTransferStateMachine: every action from every state: what the
// transfer becomes, or the 409 naming the state that refuses it.
func TestTransferStateMachine(t *testing.T) {
	t.Parallel()
	actions := []string{"accept", "decline", "cancel", "approve", "reject"}
	// want[state][action]: the status after, or "!reason" for a refusal.
	want := map[string]map[string]string{
		"pending":   {"accept": "accepted", "decline": "declined", "cancel": "cancelled", "approve": "!transfer_pending", "reject": "rejected"},
		"accepted":  {"accept": "!transfer_accepted", "decline": "!transfer_accepted", "cancel": "cancelled", "approve": "completed", "reject": "rejected"},
		"completed": {"accept": "!transfer_completed", "decline": "!transfer_completed", "cancel": "!transfer_completed", "approve": "completed", "reject": "!transfer_completed"},
		"declined":  {"accept": "!transfer_declined", "decline": "!transfer_declined", "cancel": "!transfer_declined", "approve": "!transfer_declined", "reject": "!transfer_declined"},
		"cancelled": {"accept": "!transfer_cancelled", "decline": "!transfer_cancelled", "cancel": "!transfer_cancelled", "approve": "!transfer_cancelled", "reject": "!transfer_cancelled"},
		"rejected":  {"accept": "!transfer_rejected", "decline": "!transfer_rejected", "cancel": "!transfer_rejected", "approve": "!transfer_rejected", "reject": "!transfer_rejected"},
		"expired":   {"accept": "!transfer_expired", "decline": "!transfer_expired", "cancel": "!transfer_expired", "approve": "!transfer_expired", "reject": "!transfer_expired"},
	}
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		do := func(action, id string) (*transfers.Transfer, error) {
			switch action {
			case "accept":
				return tb.t.Accept(tb.ctx, tb.receiver, id)
			case "decline":
				return tb.t.Decline(tb.ctx, tb.receiver, id, transfers.DecisionInput{})
			case "cancel":
				return tb.t.Cancel(tb.ctx, tb.sender, id)
			case "approve":
				return tb.t.Approve(tb.ctx, staff, id)
			default:
				return tb.t.Reject(tb.ctx, staff, id, transfers.DecisionInput{Reason: "not allowed"})
			}
		}
		// reach makes a transfer of a new service in state.
		reach := func(state string) string {
			tr := tb.request(t, tb.service(t, tb.sender, "svc", 2900))
			path := map[string][]string{"accepted": {"accept"}, "completed": {"accept", "approve"}, "declined": {"decline"},
				"cancelled": {"cancel"}, "rejected": {"reject"}}[state]
			for _, a := range path {
				if _, err := do(a, tr.ID); err != nil {
					t.Fatalf("reaching %s: %s: %v", state, a, err)
				}
			}
			if state == "expired" {
				tb.exec(t, "UPDATE service_transfers SET expires_at = ? WHERE id = ?", tb.clock.Now(), tr.ID)
			}
			return tr.ID
		}
		got := map[string]map[string]string{}
		for state := range want {
			got[state] = map[string]string{}
			for _, action := range actions {
				tr, err := do(action, reach(state))
				switch {
				case err == nil:
					got[state][action] = tr.State(tb.clock.Now())
				case apperr.CodeOf(err) == apperr.Conflict:
					got[state][action] = "!" + testkit.AppErr(t, err, apperr.Conflict, "").Reason
				default:
					t.Fatalf("%s from %s: %v", action, state, err)
				}
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("state machine (-want +got):\n%s", diff)
		}
	})
}

// TestTransferRefusals: services and receivers a transfer refuses, each a
// 422 (404 for another account's service, 409 for a service already in a
// transfer) naming the field and the rule; nothing is recorded.
func TestTransferRefusals(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		now := time.Now().UTC()
		suspend := func(id, reason string) {
			if _, err := billingtest.Suspend(tb.ctx, db, id, reason, now); err != nil {
				t.Fatal(err)
			}
		}
		busy := tb.service(t, tb.sender, "busy", 2900)
		tb.request(t, busy)
		noCard := tb.account(t, "nocard@example.test", false)
		twice := tb.account(t, "twice@example.test", true)
		twiceOther := tb.account(t, "twice-b@example.test", true)
		tb.must(t, accountstest.Join(tb.ctx, db, twiceOther.AccountID, twice.UserID, accounts.RoleOwner))
		// A staff user made owner of a customer's account is still no
		// receiver: transfers go from customer to customer.
		staffOwned := tb.account(t, "staff-owned@example.test", true)
		staffUser, err := tb.acc.CreateStaff(tb.ctx, "ops@example.test", "staff password for tests", "admin")
		tb.must(t, err)
		tb.must(t, accountstest.Join(tb.ctx, db, staffOwned.AccountID, staffUser.ID, accounts.RoleOwner))

		cases := []struct {
			name    string
			prepare func(id string)
			email   string
			code    apperr.Code
			field   string
			reason  string
		}{
			{"suspended", func(id string) { suspend(id, "non_payment") }, "", apperr.Unprocessable, "service_id", "service_suspended"},
			{"budget-stopped", func(id string) { suspend(id, "budget") }, "", apperr.Unprocessable, "service_id", "budget_stopped"},
			{"free-tier", func(id string) { tb.must(t, billingtest.FreeTier(tb.ctx, db, id)) }, "", apperr.Unprocessable, "service_id", "free_tier"},
			{"terminated", func(id string) { tb.must(t, billingtest.SetServiceStatus(tb.ctx, db, id, "terminated")) }, "", apperr.Unprocessable, "service_id", "service_not_active"},
			{"pending", func(id string) { tb.must(t, billingtest.Pending(tb.ctx, db, id)) }, "", apperr.Unprocessable, "service_id", "service_not_active"},
			{"cancelled at term end", func(id string) { tb.must(t, billingtest.CancelAtPeriodEnd(tb.ctx, db, id)) }, "", apperr.Unprocessable, "service_id", "cancel_at_period_end"},
			{"unpaid invoice", func(id string) {
				if _, err := billingtest.OpenInvoice(tb.ctx, db, tb.sender.AccountID, id, 100, "USD", now); err != nil {
					t.Fatal(err)
				}
			}, "", apperr.Unprocessable, "service_id", "open_invoice"},
			{"another account's service", func(id string) { tb.must(t, billingtest.MoveService(tb.ctx, db, id, tb.third.AccountID)) }, "", apperr.NotFound, "service_id", ""},
			{"same account", nil, "sender@example.test", apperr.Unprocessable, "email", "same_account"},
			{"receiver without a card", nil, "nocard@example.test", apperr.Unprocessable, "email", "no_payment_method"},
			{"unknown receiver", nil, "nobody@example.test", apperr.Unprocessable, "email", "receiver_not_found"},
			{"receiver owning two accounts", nil, "twice@example.test", apperr.Unprocessable, "to_account_id", "receiver_ambiguous"},
			{"staff receiver", nil, "ops@example.test", apperr.Unprocessable, "email", "receiver_not_found"},
			{"already in a transfer", nil, "", apperr.Conflict, "service_id", "transfer_open"},
		}
		for _, c := range cases {
			id := tb.service(t, tb.sender, "svc", 2900)
			if c.name == "already in a transfer" {
				id = busy
			}
			if c.prepare != nil {
				c.prepare(id)
			}
			email := c.email
			if email == "" {
				email = "receiver@example.test"
			}
			var before int
			if err := db.NewRaw("SELECT count(*) FROM service_transfers").Scan(tb.ctx, &before); err != nil {
				t.Fatal(err)
			}
			_, err := tb.t.Request(tb.ctx, tb.sender, transfers.RequestInput{ServiceID: id, Email: email})
			e := testkit.AppErr(t, err, c.code, c.reason)
			if len(e.Fields) != 1 || e.Fields[0].Field != c.field {
				t.Errorf("%s: fields %+v, want %s", c.name, e.Fields, c.field)
			}
			var after int
			if err := db.NewRaw("SELECT count(*) FROM service_transfers").Scan(tb.ctx, &after); err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("%s: a transfer was recorded", c.name)
			}
		}
		// Naming one of the two accounts is accepted; naming one the
		// receiver does not own is refused.
		id := tb.service(t, tb.sender, "svc", 2900)
		if _, err := tb.t.Request(tb.ctx, tb.sender, transfers.RequestInput{ServiceID: id, Email: "twice@example.test", ToAccountID: noCard.AccountID}); err == nil {
			t.Fatal("an account the receiver does not own was accepted")
		} else {
			testkit.AppErr(t, err, apperr.Unprocessable, "not_owned")
		}
		tr, err := tb.t.Request(tb.ctx, tb.sender, transfers.RequestInput{ServiceID: id, Email: "twice@example.test", ToAccountID: twiceOther.AccountID})
		if err != nil || tr.ToAccountID != twiceOther.AccountID {
			t.Fatalf("naming the receiving account: %v %+v", err, tr)
		}
	})
}

// TestTransferBOLA: a third account neither sees nor acts on a transfer
// between two others (404, absent from its list); the sender cannot accept
// its own request and the receiver cannot cancel it.
func TestTransferBOLA(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		tr := tb.request(t, tb.service(t, tb.sender, "web-1", 2900))
		attempts := map[string]func() error{
			"third gets":        func() error { _, err := tb.t.Get(tb.ctx, tb.third, tr.ID); return err },
			"third accepts":     func() error { _, err := tb.t.Accept(tb.ctx, tb.third, tr.ID); return err },
			"third declines":    func() error { _, err := tb.t.Decline(tb.ctx, tb.third, tr.ID, transfers.DecisionInput{}); return err },
			"third cancels":     func() error { _, err := tb.t.Cancel(tb.ctx, tb.third, tr.ID); return err },
			"sender accepts":    func() error { _, err := tb.t.Accept(tb.ctx, tb.sender, tr.ID); return err },
			"receiver cancels":  func() error { _, err := tb.t.Cancel(tb.ctx, tb.receiver, tr.ID); return err },
			"sender declines":   func() error { _, err := tb.t.Decline(tb.ctx, tb.sender, tr.ID, transfers.DecisionInput{}); return err },
			"nobody's transfer": func() error { _, err := tb.t.Get(tb.ctx, transfers.Actor{}, tr.ID); return err },
		}
		for name, f := range attempts {
			if err := f(); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: %v, want not found", name, err)
			}
		}
		list, err := tb.t.List(tb.ctx, tb.third, transfers.Filter{})
		if err != nil || len(list) != 0 {
			t.Errorf("third's list: %v %d transfers", err, len(list))
		}
		for _, a := range []transfers.Actor{tb.sender, tb.receiver} {
			list, err := tb.t.List(tb.ctx, a, transfers.Filter{})
			if err != nil || len(list) != 1 || list[0].ID != tr.ID {
				t.Errorf("list of %s: %v %+v", a.AccountID, err, list)
			}
		}
		if got, _ := tb.t.Get(tb.ctx, tb.receiver, tr.ID); got == nil || got.Status != transfers.StatusPending {
			t.Errorf("the receiver's view: %+v", got)
		}
	})
}

// TestTransferExpiry: a transfer left past transfers.ttl is expired at
// once (no action takes it) and the sweep records it and tells both
// accounts, once; the service may then be asked for again.
func TestTransferExpiry(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		svc := tb.service(t, tb.sender, "web-1", 2900)
		tr := tb.request(t, svc)
		tb.notices.take()
		tb.clock.Add(tb.t.Options().TTL)
		if _, err := tb.t.Accept(tb.ctx, tb.receiver, tr.ID); err == nil {
			t.Fatal("an expired transfer was accepted")
		} else {
			testkit.AppErr(t, err, apperr.Conflict, "transfer_expired")
		}
		list, err := tb.t.List(tb.ctx, tb.sender, transfers.Filter{Status: transfers.StatusExpired})
		if err != nil || len(list) != 1 {
			t.Fatalf("expired list: %v %d", err, len(list))
		}
		for range 2 {
			if _, err := tb.t.Expire(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		want := []notice{{notify.TransferUpdated, tb.sender.AccountID, "expired"}, {notify.TransferUpdated, tb.receiver.AccountID, "expired"}}
		if diff := cmp.Diff(want, tb.notices.take()); diff != "" {
			t.Errorf("expiry notices (-want +got):\n%s", diff)
		}
		got, err := tb.t.Get(tb.ctx, tb.sender, tr.ID)
		if err != nil || got.Status != transfers.StatusExpired || got.EndedAt == nil {
			t.Errorf("after the sweep: %v %+v", err, got)
		}
		tb.request(t, svc)
	})
}
