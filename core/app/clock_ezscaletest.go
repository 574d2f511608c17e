//go:build ezscaletest

package app

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/core/app/testclock"
)

func init() {
	openTestClock = func(logger hclog.Logger) (testClock, error) {
		path := os.Getenv(testclock.Env)
		if path == "" {
			return nil, nil
		}
		c, err := testclock.Open(path)
		if err != nil {
			return nil, err
		}
		logger.Warn("test build: the scheduler and the job engine follow the test clock", "file", path)
		return c, nil
	}
	runTestClock = func(ctx context.Context, a *App) {
		c := a.clock.(*testclock.Clock)
		log := a.Logger.Named("testclock")
		go c.Watch(ctx, func(from, to time.Time) {
			n, err := a.Jobs.EnqueueDue(ctx, from, to)
			if err != nil {
				log.Error("enqueueing the periodic jobs due in the jump", "from", from, "to", to, "error", err)
				return
			}
			log.Info("the test clock moved", "from", from, "to", to, "periodic_jobs", n)
		})
	}
}
