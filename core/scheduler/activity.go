package scheduler

import (
	"context"
	"fmt"
	"time"
)

// FailedRuns lists the account's task runs that failed (or ended unknown)
// and were created at or after since, newest first, at most limit. It is
// what the support assistant is told of recent trouble; it reads only the
// account's own runs.
func (s *Service) FailedRuns(ctx context.Context, accountID string, since time.Time, limit int) ([]*Run, error) {
	var rs []*Run
	err := s.db.Conn(ctx).NewSelect().Model(&rs).Where("account_id = ?", accountID).Where("status IN (?, ?)", RunFailed, RunUnknown).
		Where("created_at >= ?", since).OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler: listing failed runs of %s: %w", accountID, err)
	}
	return rs, nil
}

// RecentRecoveryAttempts lists the account's auto-recovery attempts (a
// failed health check and the restart it led to) created at or after
// since, newest first, at most limit.
func (s *Service) RecentRecoveryAttempts(ctx context.Context, accountID string, since time.Time, limit int) ([]*RecoveryAttempt, error) {
	var as []*RecoveryAttempt
	err := s.db.Conn(ctx).NewSelect().Model(&as).Where("account_id = ?", accountID).Where("created_at >= ?", since).
		OrderExpr("id DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler: listing recovery attempts of %s: %w", accountID, err)
	}
	return as, nil
}
