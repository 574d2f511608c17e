package budget

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
)

// checkArgs asks for a check of one account; Seq, when set, is the ledger
// entry that prompted it (a later check covering it makes this one a
// no-op, so a burst of debits costs one real check).
type checkArgs struct {
	AccountID string `json:"account_id"`
	Seq       int64  `json:"seq,omitempty"`
}

func (checkArgs) Kind() string { return "billing_budget_check" }

// InsertOpts: not unique. River's uniqueness must include running jobs, and
// a debit landing while a check runs needs a check of its own; Seq makes
// the extra ones cheap.
func (checkArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type checkWorker struct {
	river.WorkerDefaults[checkArgs]
	s *Service
}

func (w *checkWorker) Timeout(*river.Job[checkArgs]) time.Duration { return time.Minute }

func (w *checkWorker) Work(ctx context.Context, job *river.Job[checkArgs]) error {
	_, err := w.s.Check(ctx, job.Args.AccountID, job.Args.Seq)
	return err
}

// enqueueCheck queues a check of the account in tx.
func (s *Service) enqueueCheck(ctx context.Context, tx bun.Tx, accountID string, seq int64) error {
	if _, err := s.jobs.InsertTx(ctx, tx, checkArgs{AccountID: accountID, Seq: seq}, nil); err != nil {
		return fmt.Errorf("budget: queueing a check of %s: %w", accountID, err)
	}
	return nil
}

type sweepArgs struct{}

func (sweepArgs) Kind() string { return "billing_budget_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Service
}

// Timeout: the sweep only queues checks, in batches; one cut short is
// finished by the next.
func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return 2 * time.Minute }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	_, err := w.s.Sweep(ctx)
	return err
}

// sweepBatch is how many budgets one sweep transaction looks at.
const sweepBatch = 500

// Sweep queues a check of every budget whose period has rolled over since
// its last check (the reset) or whose last check is a day old (the daily
// check), and returns how many it queued.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.now()
	queued, after := 0, ""
	for {
		var rows []struct {
			AccountID   string     `bun:"account_id"`
			ResetDay    int        `bun:"reset_day"`
			PeriodStart *time.Time `bun:"period_start"`
			CheckedAt   *time.Time `bun:"checked_at"`
		}
		err := s.db.Conn(ctx).NewSelect().TableExpr("budgets AS b").
			ColumnExpr("b.account_id, b.reset_day, p.period_start, p.checked_at").
			Join("LEFT JOIN budget_periods AS p ON p.account_id = b.account_id AND p.period_start = "+
				"(SELECT MAX(q.period_start) FROM budget_periods AS q WHERE q.account_id = b.account_id)").
			Where("b.account_id > ?", after).OrderExpr("b.account_id").Limit(sweepBatch).Scan(ctx, &rows)
		if err != nil {
			return queued, fmt.Errorf("budget: sweeping budgets: %w", err)
		}
		if len(rows) == 0 {
			return queued, nil
		}
		var due []string
		for _, r := range rows {
			start, _ := periodOf(now, r.ResetDay)
			if r.PeriodStart == nil || r.PeriodStart.Before(start) || r.CheckedAt == nil || now.Sub(*r.CheckedAt) >= 24*time.Hour {
				due = append(due, r.AccountID)
			}
		}
		if len(due) > 0 {
			err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
				for _, id := range due {
					if err := s.enqueueCheck(ctx, tx, id, 0); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return queued, err
			}
			queued += len(due)
		}
		after = rows[len(rows)-1].AccountID
	}
}
