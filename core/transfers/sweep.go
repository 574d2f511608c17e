package transfers

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/notify"
)

// KindSweep is the periodic job that marks expired transfers.
const KindSweep = "transfers_expire"

type sweepArgs struct{}

func (sweepArgs) Kind() string { return KindSweep }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Service
}

func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return time.Minute }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	_, err := w.s.Expire(ctx)
	return err
}

// sweepBatch bounds one transaction of the sweep.
const sweepBatch = 100

// Expire marks the open transfers past their expiry as expired, tells both
// accounts and audits each (as the system), in batches; it returns how
// many it marked. Transfers are already treated as expired from their
// expiry on (Transfer.State); this records it.
func (s *Service) Expire(ctx context.Context) (int, error) {
	ctx = audit.WithMeta(ctx, audit.Meta{ActorType: audit.ActorSystem, ActorID: KindSweep})
	total := 0
	for {
		now := s.now()
		var ids []string
		if err := s.db.Conn(ctx).NewSelect().Model((*Transfer)(nil)).Column("id").Where("status IN (?)", bun.List(open)).
			Where("expires_at <= ?", now).Order("expires_at", "id").Limit(sweepBatch).Scan(ctx, &ids); err != nil {
			return total, fmt.Errorf("transfers: selecting expired transfers: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			for _, id := range ids {
				tr, err := s.load(ctx, tx, Actor{Staff: true}, id, true)
				if err != nil {
					return err
				}
				if !tr.isOpen() || now.Before(tr.ExpiresAt) {
					continue // completed or ended meanwhile
				}
				tr.Status, tr.EndedAt, tr.UpdatedAt = StatusExpired, &now, now
				if _, err := tx.NewUpdate().Model(tr).WherePK().Column("status", "ended_at", "updated_at").Exec(ctx); err != nil {
					return fmt.Errorf("transfers: expiring %s: %w", tr.ID, err)
				}
				if err := s.tellBoth(ctx, tx, notify.TransferUpdated, tr, now, true, true); err != nil {
					return err
				}
				if _, err := audit.Append(ctx, tx, audit.Event{Action: "transfer.expire", AccountID: tr.FromAccountID, TargetType: "transfer",
					TargetID: tr.ID, Changes: map[string]any{"service_id": tr.ServiceID, "to_account_id": tr.ToAccountID}}); err != nil {
					return err
				}
				total++
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		if len(ids) < sweepBatch {
			return total, nil
		}
	}
}
