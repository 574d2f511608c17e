package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
)

// TestPrune: notifications past the retention go read or not, read ones
// past the read retention go, the rest stay (unread ones however old
// within the retention); events go with the retention; a second run
// deletes nothing.
func TestPrune(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		b := setup(t, db, setupOpts{opts: notify.Options{Retention: 365 * 24 * time.Hour, ReadRetention: 90 * 24 * time.Hour}})
		u := createUser(t, db, "keeper")
		acct := createAccount(t, db, map[user]string{u: "owner"})
		for range 5 {
			b.notifyTx(t, notify.Event{Type: notify.InvoiceIssued, AccountID: acct, Data: invoiceData})
		}
		var rows []struct {
			ID      string `bun:"id"`
			EventID string `bun:"event_id"`
		}
		if err := db.NewSelect().TableExpr("notifications").Column("id", "event_id").Where("user_id = ?", u.ID).OrderExpr("seq").Scan(ctx, &rows); err != nil || len(rows) != 5 {
			t.Fatalf("%d notifications, %v", len(rows), err)
		}
		now := time.Now().UTC()
		days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
		age := func(i int, created time.Time, read *time.Time) {
			t.Helper()
			if _, err := db.NewUpdate().Table("notifications").Set("created_at = ?", created).Set("read_at = ?", read).Where("id = ?", rows[i].ID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := db.NewUpdate().Table("notification_events").Set("created_at = ?", created).Where("id = ?", rows[i].EventID).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		readLongAgo, readLately := days(100), days(10)
		age(0, days(400), nil)          // past the retention, unread: goes
		age(1, days(200), &readLongAgo) // read 100 days ago: goes
		age(2, days(200), &readLately)  // read 10 days ago: stays
		age(3, days(300), nil)          // old but unread, within the retention: stays
		// rows[4] is new: stays.

		st, err := b.svc.Prune(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st != (notify.PruneStats{Notifications: 2, Events: 1}) {
			t.Errorf("first prune: %+v, want 2 notifications and 1 event", st)
		}
		var left []string
		if err := db.NewSelect().TableExpr("notifications").Column("id").Where("user_id = ?", u.ID).OrderExpr("seq").Scan(ctx, &left); err != nil {
			t.Fatal(err)
		}
		if want := []string{rows[2].ID, rows[3].ID, rows[4].ID}; len(left) != 3 || left[0] != want[0] || left[1] != want[1] || left[2] != want[2] {
			t.Errorf("left %v, want %v", left, want)
		}
		if st, err := b.svc.Prune(ctx); err != nil || st != (notify.PruneStats{}) {
			t.Errorf("second prune: %+v, %v; want nothing", st, err)
		}
	})
}
