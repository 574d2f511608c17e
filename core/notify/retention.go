package notify

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// pruneBatch bounds one delete statement: on SQLite every write waits for
// the one write connection, so a year of notifications must not hold it
// in one statement.
const pruneBatch = 5000

// PruneStats counts what Prune deleted.
type PruneStats struct {
	Notifications int64
	Events        int64
}

// Prune deletes in-app notifications older than Options.Retention, and
// those read more than Options.ReadRetention ago, then the events no
// notification can show any more (older than Retention). It works in
// batches and is safe to run on every replica at once; the hourly
// notify_prune job calls it.
func (s *Service) Prune(ctx context.Context) (PruneStats, error) {
	var st PruneStats
	now := s.now()
	old, readOld := now.Add(-s.opts.Retention), now.Add(-s.opts.ReadRetention)
	for _, rule := range []struct {
		what string
		sel  *bun.SelectQuery
	}{
		{"notifications past retention", s.db.NewSelect().TableExpr("notifications").Column("seq").
			Where("created_at < ?", old).Limit(pruneBatch)},
		{"read notifications past retention", s.db.NewSelect().TableExpr("notifications").Column("seq").
			Where("read_at < ?", readOld).Limit(pruneBatch)},
	} {
		for {
			res, err := s.db.NewDelete().TableExpr("notifications").Where("seq IN (?)", rule.sel).Exec(ctx)
			if err != nil {
				return st, fmt.Errorf("notify: pruning %s: %w", rule.what, err)
			}
			n, _ := res.RowsAffected()
			st.Notifications += n
			if n == 0 || ctx.Err() != nil {
				break
			}
		}
	}
	// A notification is created with its event, so an event older than
	// Retention has no notification left to show it.
	for {
		sel := s.db.NewSelect().TableExpr("notification_events").Column("id").Where("created_at < ?", old).Limit(pruneBatch)
		res, err := s.db.NewDelete().TableExpr("notification_events").Where("id IN (?)", sel).Exec(ctx)
		if err != nil {
			return st, fmt.Errorf("notify: pruning events: %w", err)
		}
		n, _ := res.RowsAffected()
		st.Events += n
		if n == 0 || ctx.Err() != nil {
			break
		}
	}
	if st.Notifications > 0 || st.Events > 0 {
		s.opts.Logger.Info("pruned notifications", "notifications", st.Notifications, "events", st.Events)
	}
	return st, ctx.Err()
}
