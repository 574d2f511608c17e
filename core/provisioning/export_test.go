package provisioning

import (
	"context"
	"time"
)

// CollectFromForTest is the usage job's body: a collection from a cursor
// (zero: a new one), returning where a follow-up job would continue ("" =
// done).
func (s *Service) CollectFromForTest(ctx context.Context, at time.Time, after string) (CollectStats, time.Time, string, error) {
	st, next, err := s.collect(ctx, usageCursor{At: at, After: after})
	if next == nil {
		return st, time.Time{}, "", err
	}
	return st, next.At, next.After, err
}
