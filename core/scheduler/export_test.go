package scheduler

import (
	"context"
	"time"
)

// Test hooks: the job bodies, called directly instead of through River.

func (s *Service) ExecuteRunForTest(ctx context.Context, runID string, lastTry bool) error {
	return s.executeRuns(ctx, []string{runID}, func(*runContext) bool { return lastTry })
}

// ExecuteRunsForTest executes a chunk of runs as their job's River
// attempt `attempt` of maxAttempts would.
func (s *Service) ExecuteRunsForTest(ctx context.Context, runIDs []string, attempt, maxAttempts int) error {
	return s.executeRuns(ctx, runIDs, func(rc *runContext) bool {
		return attempt >= maxAttempts || attempt >= rc.MaxAttempts+riverMargin
	})
}

func (s *Service) CheckForTest(ctx context.Context, serviceID string, slot time.Time) error {
	return s.check(ctx, serviceID, slot)
}

func (s *Service) ApplyChangeForTest(ctx context.Context, id string) error {
	return s.applyChange(ctx, id, false)
}

func (s *Service) RemindForTest(ctx context.Context, id string) error { return s.remindChange(ctx, id) }

func (s *Service) SlotAfterForTest(serviceID string, t time.Time) time.Time {
	return s.slotAfter(serviceID, t)
}

// SetPlanChangerForTest swaps the plan changer mid-test (a changer that
// lacks an operation).
func (s *Service) SetPlanChangerForTest(c PlanChanger) { s.planChanger.Store(&c) }

// SetIntentsForTest turns the record of backend actions off (the
// benchmark's baseline) or on.
func (s *Service) SetIntentsForTest(on bool) { s.noIntents = !on }
