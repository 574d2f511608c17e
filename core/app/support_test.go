package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/support"
)

// TestSupportContextReadsOnlyTheAccount: the context the assistant gets,
// read through billing and the scheduler by core/app's adapters, holds the
// account's services, open invoice, balance and failed run, and nothing of
// another account's, of a service's provisioner attributes or chosen
// options (where backends keep passwords), or of the users' two-factor
// secrets.
func TestSupportContextReadsOnlyTheAccount(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		reg := jobs.NewRegistry(time.Hour)
		acc := accounts.New(db, nil, ratelimit.New(db), accounts.DefaultOptions())
		b, _, cat, _ := billingOver(db, reg, acc)
		sch := scheduler.New(scheduler.Deps{DB: db, Jobs: reg}, scheduler.Options{})
		now := time.Now().UTC().Truncate(time.Second)
		for _, a := range []string{"mine", "theirs"} {
			if _, err := db.ExecContext(ctx, "INSERT INTO accounts (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", a, a, now, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, totp_secret, totp_enabled, created_at, updated_at)
			VALUES ('u1', 'me@example.com', 'ARGON-HASH-SECRET', 'TOTP-SECRET-XYZ', true, ?, ?)`, now, now); err != nil {
			t.Fatal(err)
		}
		plan, err := cat.CreatePlan(ctx, catalog.PlanInput{Slug: "vps-small", Name: "VPS Small", ServiceType: "vps", Currency: "USD", MonthlyPrice: 1000, Plugin: "p"})
		if err != nil {
			t.Fatal(err)
		}
		start := money.Date(now)
		end := money.AddCycle(start, money.Monthly, start.Day())
		svcs := map[string]string{} // account → its service
		for _, s := range []struct{ account, label string }{{"mine", "web-1"}, {"theirs", "THEIR-SERVICE"}} {
			id, err := billingtest.Service(ctx, db, billingtest.ServiceSpec{AccountID: s.account, PlanID: plan.ID, Price: 1000, Label: s.label,
				Options: `{"root_password":"OPTION-SECRET"}`, Attributes: `{"password":"ATTRIBUTE-SECRET","ip":"203.0.113.7"}`,
				PeriodStart: &start, PeriodEnd: &end, AnchorDay: start.Day(), CreatedAt: now})
			if err != nil {
				t.Fatal(err)
			}
			svcs[s.account] = id
		}
		invs := map[string]string{} // account → its open invoice
		for _, inv := range []billingtest.InvoiceSpec{
			{AccountID: "mine", Number: 42, Subtotal: 1000, Total: 1000, DueAt: now.Add(-72 * time.Hour)},
			{AccountID: "theirs", Number: 43, Subtotal: 99999, Total: 99999, DueAt: now},
		} {
			inv.Status, inv.Reason, inv.Currency, inv.IssuedAt, inv.CreatedAt = billing.InvoiceOpen, billing.ReasonRenewal, "USD", &now, now
			id, err := billingtest.Invoice(ctx, db, inv)
			if err != nil {
				t.Fatal(err)
			}
			invs[inv.AccountID] = id
		}
		err = db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := b.Ledger().Post(ctx, tx, ledger.Posting{AccountID: "mine", Currency: "USD", Amount: 250, Kind: ledger.KindTopUp}); err != nil {
				return err
			}
			_, err := b.Ledger().Post(ctx, tx, ledger.Posting{AccountID: "theirs", Currency: "USD", Amount: 424242, Kind: ledger.KindTopUp})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range []*scheduler.Task{
			{ID: "t1", AccountID: "mine", ServiceID: svcs["mine"], Type: "reboot", Cron: "0 4 * * *", TimeZone: "UTC", Notify: "failure", CreatedAt: now, UpdatedAt: now},
			{ID: "t2", AccountID: "theirs", ServiceID: svcs["theirs"], Type: "reboot", Cron: "0 4 * * *", TimeZone: "UTC", Notify: "failure", CreatedAt: now, UpdatedAt: now},
		} {
			if _, err := db.NewInsert().Model(tk).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []*scheduler.Run{
			{ID: "run-mine", TaskID: "t1", AccountID: "mine", ServiceID: svcs["mine"], Type: "reboot", Status: scheduler.RunFailed, Error: "backend timeout",
				DueAt: now, RunAfter: now, CreatedAt: now.Add(-time.Hour)},
			{ID: "run-theirs", TaskID: "t2", AccountID: "theirs", ServiceID: svcs["theirs"], Type: "reboot", Status: scheduler.RunFailed,
				Error: "THEIR-RUN-ERROR", DueAt: now, RunAfter: now, CreatedAt: now.Add(-time.Hour)},
		} {
			if _, err := db.NewInsert().Model(r).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}

		svc := support.New(support.Deps{DB: db, Billing: supportBilling{b: b, db: db}, Activity: supportActivity{s: sch}, Users: supportUsers{a: acc}},
			support.Options{Now: func() time.Time { return now }, PollInterval: -1})
		got, err := svc.AccountContext(ctx, "mine")
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for k, v := range got {
			all = append(all, k+": "+v)
		}
		text := strings.Join(all, "\n")
		for _, want := range []string{svcs["mine"], "web-1", "vps-small", invs["mine"], "#42", "overdue", "credit balance 2.50 USD", "backend timeout"} {
			if !strings.Contains(text, want) {
				t.Errorf("context lacks %q:\n%s", want, text)
			}
		}
		for _, leak := range []string{"theirs", svcs["theirs"], invs["theirs"], "THEIR", "99999", "999.99", "4242", "SECRET", "203.0.113.7", "me@example.com"} {
			if strings.Contains(text, leak) {
				t.Errorf("context holds %q:\n%s", leak, text)
			}
		}
	})
}
