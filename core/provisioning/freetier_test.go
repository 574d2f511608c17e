package provisioning_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
)

func reasonOf(err error) string {
	if e, ok := apperr.As(err); ok {
		return string(e.Code) + "/" + e.Reason
	}
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// TestFreeTierAdmission: a free-tier order needs the ordering user's
// verified email and two-factor; the service is a development one; a
// second free-tier service on the same account is refused, on the same
// plan (billing's per-plan limit) as on another free plan (the partial
// unique index); once the first ended, a new one may be ordered.
func TestFreeTierAdmission(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		free := tb.plan(t, "free-micro", 0, true, "")
		free2 := tb.plan(t, "free-nano", 0, true, "")
		paid := tb.plan(t, "vps", 500, false, "")

		for _, tc := range []struct {
			verified, totp bool
			want           string
		}{
			{false, false, "unprocessable/free_tier_unverified"},
			{false, true, "unprocessable/free_tier_unverified"},
			{true, false, "unprocessable/free_tier_2fa_required"},
		} {
			c := tb.customer(t, tc.verified, tc.totp)
			_, err := tb.b.Order(c.as(tb.ctx), c.AccountID, billing.OrderInput{PlanID: free.ID})
			if got := reasonOf(err); got != tc.want {
				t.Errorf("verified=%v totp=%v: %s, want %s", tc.verified, tc.totp, got, tc.want)
			}
		}

		c := tb.customer(t, true, true)
		svc := tb.order(t, c, free)
		if svc.Environment != services.EnvDevelopment {
			t.Errorf("free-tier service environment %q", svc.Environment)
		}
		tb.credit(t, c.AccountID, 500)
		if paidSvc := tb.order(t, c, paid); paidSvc.Environment != services.EnvProduction {
			t.Errorf("paid service environment %q", paidSvc.Environment)
		}
		for _, p := range []*catalog.Plan{free, free2} {
			_, err := tb.b.Order(c.as(tb.ctx), c.AccountID, billing.OrderInput{PlanID: p.ID})
			if got := reasonOf(err); got != "unprocessable/free_tier_limit" {
				t.Errorf("second free service on %s: %s", p.Slug, got)
			}
		}
		st, err := tb.p.FreeTier(tb.ctx, c.AccountID, svc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.InactivityDays != 90 || st.TerminatesAt == nil || !st.TerminatesAt.Equal(st.LastActivityAt.Add(90*24*time.Hour)) {
			t.Errorf("free-tier status %+v", st)
		}

		if _, err := tb.b.Cancel(tb.ctx, c.AccountID, svc.ID, billing.CancelInput{When: "now"}); err != nil {
			t.Fatal(err)
		}
		st, err = tb.p.FreeTier(tb.ctx, c.AccountID, svc.ID)
		if err != nil || st.EndedAt == nil || st.EndReason != "cancelled" {
			t.Fatalf("after cancellation: %+v, %v", st, err)
		}
		tb.order(t, c, free2)
	})
}

// TestUnpaidFreeTierOrderGivesItsSlotBack: a free-tier order with a paid
// add-on waits for its payment; voided unpaid, its service is cancelled
// and its free-tier slot ends with it, so the account may order another.
func TestUnpaidFreeTierOrderGivesItsSlotBack(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		free := tb.plan(t, "free-micro", 0, true, "")
		free2 := tb.plan(t, "free-nano", 0, true, "")
		backup, err := tb.cat.CreateAddon(tb.ctx, catalog.AddonInput{Slug: "backup", Name: "Backup", Currency: "USD", MonthlyPrice: 300,
			PlanIDs: []string{free.ID}, MaxQuantity: 1})
		if err != nil {
			t.Fatal(err)
		}
		c := tb.customer(t, true, true)
		res, err := tb.b.Order(c.as(tb.ctx), c.AccountID, billing.OrderInput{PlanID: free.ID,
			Addons: []billing.AddonChoice{{AddonID: backup.ID, Quantity: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Service.Status != services.StatusPending {
			t.Fatalf("a free-tier order with an unpaid add-on is %s, want pending", res.Service.Status)
		}
		if _, err := tb.b.VoidInvoice(tb.ctx, res.Invoice.ID, "never paid"); err != nil {
			t.Fatal(err)
		}
		st, err := tb.p.FreeTier(tb.ctx, c.AccountID, res.Service.ID)
		if err != nil || st.EndedAt == nil || st.EndReason != services.StatusCancelled {
			t.Fatalf("the voided order's free-tier slot: %+v, %v; want ended, cancelled", st, err)
		}
		tb.order(t, c, free2)
	})
}

// TestFreeTierOnePerAccountUnderConcurrency: ten concurrent orders of ten
// different free-tier plans by one verified account make one service.
func TestFreeTierOnePerAccountUnderConcurrency(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noJobs: true})
		c := tb.customer(t, true, true)
		plans := make([]*catalog.Plan, 10)
		for i := range plans {
			plans[i] = tb.plan(t, "free-"+string(rune('a'+i)), 0, true, "")
		}
		var wg sync.WaitGroup
		errs := make([]error, len(plans))
		for i, p := range plans {
			wg.Go(func() {
				_, errs[i] = tb.b.Order(c.as(tb.ctx), c.AccountID, billing.OrderInput{PlanID: p.ID})
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch reasonOf(err) {
			case "ok":
				ok++
			case "unprocessable/free_tier_limit":
			default:
				t.Errorf("order: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d free-tier orders succeeded, want 1", ok)
		}
		var live int
		if err := db.NewSelect().Table("free_tier_services").ColumnExpr("count(*)").Where("account_id = ?", c.AccountID).
			Where("ended_at IS NULL").Scan(tb.ctx, &live); err != nil || live != 1 {
			t.Errorf("%d live free-tier slots (%v)", live, err)
		}
	})
}

// TestFreeTierNotUpgradeable: a free-tier service cannot change to a paid
// plan (422, now or scheduled), nor a paid one to a free-tier plan.
func TestFreeTierNotUpgradeable(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		c := tb.customer(t, true, true)
		free := tb.plan(t, "free-micro", 0, true, "")
		paid := tb.plan(t, "vps", 500, false, "")
		svc := tb.order(t, c, free)
		tb.credit(t, c.AccountID, 5000)
		for _, when := range []string{"", "now", "end_of_term"} {
			_, err := tb.b.ChangePlan(tb.ctx, c.AccountID, svc.ID, billing.ChangeInput{PlanID: paid.ID, When: when})
			if got := reasonOf(err); got != "unprocessable/free_tier_plan_change" {
				t.Errorf("free → paid (%q): %s", when, got)
			}
		}
		p := tb.order(t, c, paid)
		_, err := tb.b.ChangePlan(tb.ctx, c.AccountID, p.ID, billing.ChangeInput{PlanID: free.ID, When: "now"})
		if got := reasonOf(err); got != "unprocessable/free_tier_plan_change" {
			t.Errorf("paid → free: %s", got)
		}
	})
}

// TestFreeTierInactivity: the warning goes out once per idle stretch
// (83 days idle), activity resets the clock and the warning, and a
// service idle 90 days whose warning is at least 7 days old is terminated
// at the backend, its slot ended for inactivity; a service never warned
// (the sweep was off) is warned first, not terminated.
func TestFreeTierInactivity(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		day := 24 * time.Hour
		free := tb.plan(t, "free-micro", 0, true, "")
		c := tb.customer(t, true, true)
		svc := tb.order(t, c, free)
		late := tb.customer(t, true, true)
		lateSvc := tb.order(t, late, free)

		sweep := func(want provisioningStats) {
			t.Helper()
			st, err := tb.p.SweepFreeTier(tb.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := (provisioningStats{st.Warned, st.Terminated}); got != want {
				t.Errorf("sweep at %s: %+v, want %+v", tb.clock.Now().Format(time.DateOnly), got, want)
			}
		}
		warnings := func(accountID string) int {
			var n int
			if err := db.NewSelect().Table("notification_events").ColumnExpr("count(*)").Where("account_id = ?", accountID).
				Where("type = 'service.inactive'").Scan(tb.ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		tb.clock.Add(82 * day)
		sweep(provisioningStats{})
		tb.clock.Add(day + time.Hour) // 83 days idle: warned
		sweep(provisioningStats{Warned: 2})
		sweep(provisioningStats{})
		if warnings(c.AccountID) != 1 {
			t.Errorf("%d warnings, want 1", warnings(c.AccountID))
		}
		// A service without a label is named by its plan, not its id.
		var title string
		if err := db.NewSelect().Table("notification_events").Column("title").Where("account_id = ?", c.AccountID).
			Where("type = 'service.inactive'").Scan(tb.ctx, &title); err != nil {
			t.Fatal(err)
		}
		if want := "Plan free-micro will be removed for inactivity"; title != want {
			t.Errorf("warning titled %q, want %q", title, want)
		}

		// The customer comes back (an API call on the service); the other
		// does not.
		tb.clock.Add(2 * day)
		if err := tb.p.RecordActivity(tb.ctx, c.AccountID, svc.ID); err != nil {
			t.Fatal(err)
		}
		tb.clock.Add(5 * day) // the other: 90 days idle, warned 7 days ago
		sweep(provisioningStats{Terminated: 1})
		tb.waitService(t, lateSvc.ID, services.StatusTerminated)
		testkit.WaitFor(t, "the backend termination", func() bool { return tb.prov.State(lateSvc.ID) == "terminated" })
		st, err := tb.p.FreeTier(tb.ctx, late.AccountID, lateSvc.ID)
		if err != nil || st.EndReason != "inactivity" || st.EndedAt == nil {
			t.Errorf("ended slot %+v, %v", st, err)
		}
		if got := tb.auditEvents(t, lateSvc.ID, "provisioning.free_tier"); !cmp.Equal(got, []string{
			"provisioning.free_tier.inactivity_warning:success", "provisioning.free_tier.inactivity_termination:success"}) {
			t.Errorf("audit %v", got)
		}
		if tb.prov.State(svc.ID) != "active" {
			t.Errorf("the used service is %q at the backend", tb.prov.State(svc.ID))
		}

		// Idle again: 83 days after the activity, a new warning.
		tb.clock.Add(78 * day) // 83 days after the activity
		sweep(provisioningStats{Warned: 1})
		if warnings(c.AccountID) != 2 {
			t.Errorf("%d warnings after the second idle stretch, want 2", warnings(c.AccountID))
		}

		// The sweep was off for long: far past 90 days but never warned
		// for this stretch, so warned now and terminated 7 days later.
		other := tb.customer(t, true, true)
		otherSvc := tb.order(t, other, free)
		tb.clock.Add(200 * day)
		st2, err := tb.p.SweepFreeTier(tb.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st2.Warned != 1 || st2.Terminated != 1 { // other warned; c terminated (warned 200 days ago)
			t.Errorf("sweep after a long pause: %+v", st2)
		}
		if s, _ := tb.b.Service(tb.ctx, "", otherSvc.ID); s.Status != services.StatusActive {
			t.Errorf("a never-warned service was %s", s.Status)
		}
		tb.clock.Add(7 * day)
		sweep(provisioningStats{Terminated: 1})
		tb.waitService(t, otherSvc.ID, services.StatusTerminated)
	})
}

type provisioningStats struct{ Warned, Terminated int }

// TestActivityIsThrottled: activity moves the clock at most once per
// resolution, and never for another account's service.
func TestActivityIsThrottled(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{})
		free := tb.plan(t, "free-micro", 0, true, "")
		c := tb.customer(t, true, true)
		intruder := tb.customer(t, true, true)
		svc := tb.order(t, c, free)
		last := func() time.Time {
			st, err := tb.p.FreeTier(tb.ctx, c.AccountID, svc.ID)
			if err != nil {
				t.Fatal(err)
			}
			return st.LastActivityAt
		}
		start := last()
		tb.clock.Add(time.Minute)
		if err := tb.p.RecordActivity(tb.ctx, c.AccountID, svc.ID); err != nil || !last().Equal(start) {
			t.Errorf("activity within the resolution moved the clock (%v)", err)
		}
		tb.clock.Add(10 * time.Minute)
		if err := tb.p.RecordActivity(tb.ctx, intruder.AccountID, svc.ID); err != nil || !last().Equal(start) {
			t.Errorf("another account's call moved the clock (%v)", err)
		}
		if err := tb.p.RecordActivity(tb.ctx, c.AccountID, svc.ID); err != nil || !last().Equal(tb.clock.Now()) {
			t.Errorf("activity after the resolution: %v, want %v (%v)", last(), tb.clock.Now(), err)
		}
		if _, err := tb.p.Power(tb.ctx, c.AccountID, svc.ID, "restart", ""); err != nil {
			t.Fatal(err)
		}
		tb.clock.Add(time.Minute)
		if _, err := tb.p.LoginURL(audit.WithMeta(context.Background(), audit.Meta{}), c.AccountID, svc.ID); err != nil {
			t.Fatal(err)
		}
		if !last().Equal(tb.clock.Now()) {
			t.Errorf("an SSO login did not count as activity")
		}
	})
}
