// Package ratelimit counts attempts in fixed windows stored in the database,
// so a limit holds across every replica and survives restarts.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// Limiter counts events per bucket.
type Limiter struct {
	db  *database.DB
	now func() time.Time
}

// New returns a limiter over db.
func New(db *database.DB) *Limiter {
	return &Limiter{db: db, now: time.Now}
}

// WithClock returns a limiter over the same database that reads the time
// from now (tests drive it instead of the wall clock).
func (l *Limiter) WithClock(now func() time.Time) *Limiter {
	return &Limiter{db: l.db, now: now}
}

// Rule is a limit: at most Limit events per Window.
type Rule struct {
	Limit  int
	Window time.Duration
}

func (r Rule) windowStart(now time.Time) int64 {
	w := int64(r.Window / time.Second)
	if w <= 0 {
		w = 1
	}
	return now.Unix() / w * w
}

// RetryAfter is how long until the current window ends.
func (r Rule) retryAfter(now time.Time) time.Duration {
	end := time.Unix(r.windowStart(now)+int64(r.Window/time.Second), 0)
	d := end.Sub(now)
	if d < time.Second {
		d = time.Second
	}
	return d.Round(time.Second)
}

// Hit counts one event in bucket and reports whether it is within the rule;
// when it is not, retryAfter says when the window resets. The count and the
// check are one statement, so concurrent replicas cannot both slip under.
func (l *Limiter) Hit(ctx context.Context, bucket string, r Rule) (ok bool, retryAfter time.Duration, err error) {
	count, retryAfter, err := l.Count(ctx, bucket, r)
	if err != nil || count > r.Limit {
		return false, retryAfter, err
	}
	return true, 0, nil
}

// Count counts one event in bucket and returns the window's count with it,
// for callers that act once when a limit is first crossed (count ==
// Limit+1), and how long until the window resets.
func (l *Limiter) Count(ctx context.Context, bucket string, r Rule) (count int, retryAfter time.Duration, err error) {
	now := l.now()
	err = l.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return tx.NewRaw(`INSERT INTO rate_limits (bucket, window_start, count) VALUES (?, ?, 1)
			ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_limits.count + 1
			RETURNING count`, bucket, r.windowStart(now)).Scan(ctx, &count)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("ratelimit: counting %s: %w", bucket, err)
	}
	return count, r.retryAfter(now), nil
}

// Check reports whether bucket is still within the rule without counting.
func (l *Limiter) Check(ctx context.Context, bucket string, r Rule) (ok bool, retryAfter time.Duration, err error) {
	now := l.now()
	var count int
	err = l.db.Conn(ctx).NewRaw("SELECT count FROM rate_limits WHERE bucket = ? AND window_start = ?", bucket, r.windowStart(now)).Scan(ctx, &count)
	if database.IsNoRows(err) {
		return true, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: reading %s: %w", bucket, err)
	}
	if count >= r.Limit {
		return false, r.retryAfter(now), nil
	}
	return true, 0, nil
}

// Reset forgets bucket's current window (e.g. after a successful login).
func (l *Limiter) Reset(ctx context.Context, bucket string, r Rule) error {
	_, err := l.db.Conn(ctx).NewDelete().Table("rate_limits").
		Where("bucket = ?", bucket).Where("window_start = ?", r.windowStart(l.now())).Exec(ctx)
	if err != nil {
		return fmt.Errorf("ratelimit: resetting %s: %w", bucket, err)
	}
	return nil
}

// Prune deletes windows that ended before cutoff; a periodic job calls it.
func (l *Limiter) Prune(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := l.db.NewDelete().Table("rate_limits").Where("window_start < ?", cutoff.Unix()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: pruning: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
