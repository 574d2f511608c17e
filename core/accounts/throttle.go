package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// Per-account login slowdown. A hard lock after N failures would let anyone
// who knows an address lock its owner out, even one with the right password
// and authenticator. Instead, after Options.LoginLimit failures within
// Options.LoginWindow, each further attempt must wait until the throttle's
// next_attempt_at (30 s after the limit, doubling with each failure, at
// most the window), and an attempt that comes early is refused unread, unless it
// carries the password and a second factor: those are checked, and if both
// are right the user is in. Any other early attempt answers the same 429,
// so the slowdown is no oracle for the password.

// loginThrottle is the failure record of one login address.
type loginThrottle struct {
	bun.BaseModel `bun:"table:login_throttles"`

	Email         string    `bun:"email,pk"`
	Failures      int       `bun:"failures"`
	LastFailureAt time.Time `bun:"last_failure_at"`
	NextAttemptAt time.Time `bun:"next_attempt_at"`
}

// slowdownBase is the wait after the failure that reaches the limit.
const slowdownBase = 30 * time.Second

// slowedUntil returns when the address may next try without a second
// factor; the zero time when it is not slowed down.
func (s *Service) slowedUntil(ctx context.Context, email string) (time.Time, error) {
	th := &loginThrottle{}
	err := s.reader(ctx).NewSelect().Model(th).Where("email = ?", email).Scan(ctx)
	if database.IsNoRows(err) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("accounts: reading login throttle: %w", err)
	}
	if !s.now().Before(th.NextAttemptAt) {
		return time.Time{}, nil
	}
	return th.NextAttemptAt, nil
}

// loginFailed counts a failed login of the address and returns when it may
// next try without a second factor.
func (s *Service) loginFailed(ctx context.Context, email string) (time.Time, error) {
	now := s.now()
	var next time.Time
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// The row exists before it is locked, so two first failures at once
		// do not both insert.
		if _, err := tx.NewInsert().Model(&loginThrottle{Email: email, LastFailureAt: time.Unix(0, 0).UTC(), NextAttemptAt: time.Unix(0, 0).UTC()}).
			On("CONFLICT (email) DO NOTHING").Exec(ctx); err != nil {
			return fmt.Errorf("accounts: creating login throttle: %w", err)
		}
		th := &loginThrottle{}
		if err := database.ForUpdate(tx.NewSelect().Model(th).Where("email = ?", email)).Scan(ctx); err != nil {
			return fmt.Errorf("accounts: locking login throttle: %w", err)
		}
		if now.Sub(th.LastFailureAt) > s.opts.LoginWindow {
			th.Failures = 0 // the last failure is old news
		}
		th.Failures++
		th.LastFailureAt = now
		th.NextAttemptAt = now
		if over := th.Failures - s.opts.LoginLimit; over >= 0 {
			wait := s.opts.LoginWindow
			if over < 20 && slowdownBase<<over < wait {
				wait = slowdownBase << over
			}
			th.NextAttemptAt = now.Add(wait)
		}
		next = th.NextAttemptAt
		if _, err := tx.NewUpdate().Model(th).WherePK().Column("failures", "last_failure_at", "next_attempt_at").Exec(ctx); err != nil {
			return fmt.Errorf("accounts: updating login throttle: %w", err)
		}
		return nil
	})
	return next, err
}

// loginSucceeded forgets the address's failures.
func (s *Service) loginSucceeded(ctx context.Context, email string) error {
	if _, err := s.db.Conn(ctx).NewDelete().Model((*loginThrottle)(nil)).Where("email = ?", email).Exec(ctx); err != nil {
		return fmt.Errorf("accounts: clearing login throttle: %w", err)
	}
	return nil
}

// PruneLoginThrottles deletes failure records older than cutoff; the
// housekeeping job calls it.
func PruneLoginThrottles(ctx context.Context, db *database.DB, cutoff time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*loginThrottle)(nil)).Where("last_failure_at < ?", cutoff).Where("next_attempt_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("accounts: pruning login throttles: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
