package app

import (
	"context"
	"time"

	"github.com/hashicorp/go-hclog"
)

// testClock is a clock the end-to-end tests drive (core/app/testclock),
// present only in a core built with the build tag ezscaletest: there,
// openTestClock and runTestClock are set (clock_ezscaletest.go), and
// openTestClock returns a clock when the environment names a clock file.
// The scheduler, the record of backend actions, the rate limits and the
// job engine then follow it. A production build has neither, and every
// service keeps the wall clock.
type testClock interface {
	Now() time.Time
	NowOrNil() *time.Time
}

var (
	openTestClock func(logger hclog.Logger) (testClock, error)
	runTestClock  func(ctx context.Context, a *App)
)

// loadTestClock returns the test clock, or nil.
func loadTestClock(logger hclog.Logger) (testClock, error) {
	if openTestClock == nil {
		return nil, nil
	}
	return openTestClock(logger)
}

// watchTestClock follows the test clock's moves while ctx lasts.
func (a *App) watchTestClock(ctx context.Context) {
	if a.clock != nil && runTestClock != nil {
		runTestClock(ctx, a)
	}
}
