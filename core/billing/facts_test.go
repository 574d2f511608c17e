package billing_test

import (
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/testkit"
)

// TestServiceReadsDoNotWaitForTheWriter: what other domains read of
// services outside a transaction (ProvisionerViews for usage collection's
// pages, ActiveProvisioners, ActiveServicesAfter) comes from the read
// pool, so it answers while a transaction holds SQLite's one write
// connection; inside a transaction it reads that transaction.
func TestServiceReadsDoNotWaitForTheWriter(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db, setupOpts{noHost: true, noJobs: true})
		plan := tb.plan(t, "small", 1000, nil)
		acc := tb.account(t)
		svcs := tb.insertServices(t, acc, plan, money.Monthly, date("2024-01-01"), 2)
		ids := []string{svcs[0].ID, svcs[1].ID}
		if _, err := db.NewUpdate().Table("services").Set("external_id = 'ext-' || id").Where("account_id = ?", acc).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}

		// A writer holds the write connection (SQLite has one) until the
		// reads are done.
		writer, err := db.DB.BeginTx(tb.ctx, &sql.TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = writer.Rollback() }()
		waitsBefore := db.DB.DB.Stats().WaitCount

		type result struct {
			views     int
			plugins   []string
			active    []string
			viewsErr  error
			pluginErr error
			activeErr error
		}
		done := make(chan result, 1)
		go func() {
			var r result
			views, err := tb.provisioning.ProvisionerViews(tb.ctx, ids)
			r.views, r.viewsErr = len(views), err
			r.plugins, r.pluginErr = tb.svcs.ActiveProvisioners(tb.ctx)
			r.active, r.activeErr = tb.svcs.ActiveServicesAfter(tb.ctx, []string{"testprov"}, "", 10)
			done <- r
		}()
		var got result
		finished := false
		testkit.WaitFor(t, "the reads to finish or to queue for the write connection", func() bool {
			select {
			case got = <-done:
				finished = true
				return true
			default:
				return db.DB.DB.Stats().WaitCount > waitsBefore
			}
		})
		if !finished {
			t.Fatal("a read queued for the write connection held by a writer")
		}
		if got.viewsErr != nil || got.pluginErr != nil || got.activeErr != nil {
			t.Fatal(got.viewsErr, got.pluginErr, got.activeErr)
		}
		if diff := cmp.Diff(result{views: 2, plugins: []string{"testprov"}, active: ids}, got,
			cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("reads (-want +got):\n%s", diff)
		}

		// Inside the writer's transaction, its own changes are seen.
		if _, err := writer.NewUpdate().Table("services").Set("status = 'suspended'").Where("id = ?", ids[0]).Exec(tb.ctx); err != nil {
			t.Fatal(err)
		}
		inTx, err := tb.svcs.ActiveServicesAfter(database.WithTx(tb.ctx, writer), []string{"testprov"}, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ids[1:], inTx); diff != "" {
			t.Errorf("active services inside the transaction (-want +got):\n%s", diff)
		}
	})
}
