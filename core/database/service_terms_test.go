package database_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// termsVersion is the first migration that moves billing's terms of a
// service out of services into service_terms (97: coupon, scheduled
// change; 98: paid period, cancellation at its end, and in_term; 99:
// cycle, currency and price).
const termsVersion = 97

// TestServiceTermsMigrationKeepsEveryServicesTerms: on both dialects, the
// migrations give every service its terms row with the paid period, the
// coupon and the scheduled change it had, and whether its term runs
// (active or suspended); they drop those columns from services and keep
// the services and the rows that reference them (a rebuild on SQLite).
func TestServiceTermsMigrationKeepsEveryServicesTerms(t *testing.T) {
	databasetest.EachDialect(t, func(t *testing.T, d database.Dialect) {
		ctx := context.Background()
		db := openEmpty(t, d)
		all, err := database.Migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		split := 0
		for split < len(all) && all[split].Version < termsVersion {
			split++
		}
		if split == len(all) || all[split].Version != termsVersion {
			t.Fatalf("no migration %d", termsVersion)
		}
		if _, err := db.MigrateOnly(ctx, all[:split]); err != nil {
			t.Fatal(err)
		}

		now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		start, end := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO accounts (id, name, created_at, updated_at) VALUES ('a1', 'Acme', ?, ?)", []any{now, now}},
			{`INSERT INTO plans (id, slug, name, service_type, currency, monthly_price, plugin, created_at, updated_at)
				VALUES ('p1', 'small', 'Small', 'vps', 'USD', 1000, 'prov', ?, ?), ('p2', 'big', 'Big', 'vps', 'USD', 3000, 'prov', ?, ?)`, []any{now, now, now, now}},
			{"INSERT INTO coupons (id, code, kind, created_at, updated_at) VALUES ('c1', 'SAVE', 'percent', ?, ?)", []any{now, now}},
			{`INSERT INTO services (id, account_id, plan_id, cycle, currency, price, status, created_at, updated_at,
				period_start, period_end, anchor_day, coupon_id, coupon_cycles_left, pending_plan_id, pending_cycle, pending_price)
				VALUES ('s1', 'a1', 'p1', 'monthly', 'USD', 1000, 'active', ?, ?, ?, ?, 15, 'c1', 2, 'p2', 'annual', 30000)`, []any{now, now, start, end}},
			{`INSERT INTO services (id, account_id, plan_id, cycle, currency, price, status, label, created_at, updated_at,
				period_start, period_end, anchor_day, cancel_at_period_end)
				VALUES ('s2', 'a1', 'p2', 'annual', 'USD', 30000, 'suspended', 'db', ?, ?, ?, ?, 15, ?)`, []any{now, now, start, end, true}},
			{`INSERT INTO services (id, account_id, plan_id, cycle, currency, price, status, label, created_at, updated_at)
				VALUES ('s3', 'a1', 'p1', 'monthly', 'USD', 1000, 'pending', 'new', ?, ?)`, []any{now, now}},
			{"INSERT INTO service_suspensions (id, service_id, reason, created_at) VALUES ('ss1', 's2', 'budget', ?)", []any{now}},
		} {
			if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
		}

		if _, err := db.MigrateOnly(ctx, all[split:]); err != nil {
			t.Fatal(err)
		}

		type terms struct {
			ServiceID         string     `bun:"service_id"`
			Cycle             string     `bun:"cycle"`
			Currency          string     `bun:"currency"`
			Price             int64      `bun:"price"`
			PeriodStart       *time.Time `bun:"period_start"`
			PeriodEnd         *time.Time `bun:"period_end"`
			AnchorDay         int        `bun:"anchor_day"`
			CancelAtPeriodEnd bool       `bun:"cancel_at_period_end"`
			InTerm            bool       `bun:"in_term"`
			CouponID          *string    `bun:"coupon_id"`
			CouponCyclesLeft  *int       `bun:"coupon_cycles_left"`
			PendingPlanID     *string    `bun:"pending_plan_id"`
			PendingCycle      *string    `bun:"pending_cycle"`
			PendingPrice      *int64     `bun:"pending_price"`
		}
		var got []terms
		if err := db.NewSelect().Table("service_terms").Column("service_id", "cycle", "currency", "price", "period_start", "period_end", "anchor_day",
			"cancel_at_period_end", "in_term", "coupon_id", "coupon_cycles_left", "pending_plan_id",
			"pending_cycle", "pending_price").Order("service_id").Scan(ctx, &got); err != nil {
			t.Fatal(err)
		}
		str := func(s string) *string { return &s }
		two, price := 2, int64(30000)
		want := []terms{
			{ServiceID: "s1", Cycle: "monthly", Currency: "USD", Price: 1000, PeriodStart: &start, PeriodEnd: &end, AnchorDay: 15, InTerm: true,
				CouponID: str("c1"), CouponCyclesLeft: &two, PendingPlanID: str("p2"), PendingCycle: str("annual"), PendingPrice: &price},
			{ServiceID: "s2", Cycle: "annual", Currency: "USD", Price: 30000, PeriodStart: &start, PeriodEnd: &end, AnchorDay: 15, CancelAtPeriodEnd: true, InTerm: true},
			{ServiceID: "s3", Cycle: "monthly", Currency: "USD", Price: 1000},
		}
		utc := cmp.Transformer("utc", func(t time.Time) time.Time { return t.UTC() })
		if diff := cmp.Diff(want, got, utc); diff != "" {
			t.Errorf("service_terms after the migration (-want +got)\n%s", diff)
		}

		var kept []string
		if err := db.NewSelect().Table("services").ColumnExpr("id || ':' || status || ':' || plan_id || ':' || label").Order("id").Scan(ctx, &kept); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"s1:active:p1:", "s2:suspended:p2:db", "s3:pending:p1:new"}, kept); diff != "" {
			t.Errorf("services after the migration (-want +got)\n%s", diff)
		}
		if n := count(t, db, "service_suspensions"); n != 1 {
			t.Errorf("%d suspensions after the migration, want 1", n)
		}
		for _, col := range []string{"coupon_id", "coupon_cycles_left", "pending_plan_id", "pending_cycle", "pending_price",
			"period_start", "period_end", "anchor_day", "cancel_at_period_end", "cycle", "currency", "price"} {
			if _, err := db.ExecContext(ctx, "SELECT "+col+" FROM services"); err == nil {
				t.Errorf("services.%s is still there", col)
			}
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO service_terms (service_id) VALUES ('no-such-service')"); err == nil {
			t.Error("a terms row of a missing service was accepted: the foreign key is not enforced")
		}
	})
}
