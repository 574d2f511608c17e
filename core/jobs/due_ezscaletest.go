//go:build ezscaletest

package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// maxDuePerJob bounds what one jump of the test clock enqueues per
// periodic job (its latest occurrences).
const maxDuePerJob = 60

// EnqueueDue enqueues, for each periodic job registered with
// PeriodicSchedule, its occurrences in (from, to], each scheduled at its
// time and unique per period as River's periodic enqueuer inserts them:
// what that enqueuer would have done, had its timers followed a clock that
// jumped from from to to (core/app/testclock, in test builds only). It
// returns how many jobs it inserted (a duplicate of one another replica or
// River inserted is not counted).
func (e *Engine) EnqueueDue(ctx context.Context, from, to time.Time) (int, error) {
	var params []river.InsertManyParams
	for _, j := range e.scheduled {
		var due []time.Time
		for t := j.schedule.Next(from); !t.After(to); t = j.schedule.Next(t) {
			due = append(due, t)
			if len(due) > maxDuePerJob {
				due = due[1:]
			}
		}
		for _, t := range due {
			params = append(params, river.InsertManyParams{Args: j.construct(), InsertOpts: &river.InsertOpts{
				ScheduledAt: t, UniqueOpts: river.UniqueOpts{ByPeriod: j.uniquePeriod},
			}})
		}
	}
	n := 0
	for _, p := range params {
		res, err := e.client.Insert(ctx, p.Args, p.InsertOpts)
		if err != nil {
			return n, err
		}
		if !res.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}
