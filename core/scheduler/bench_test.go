package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/scheduler"
)

// BenchmarkRunChunk measures one chunk of 50 reboot runs executed by the
// run job's body against an in-process provisioner, with the record of
// backend actions (core/intent: started before the calls, outcomes after,
// in the same transactions as the runs' writes) and without it (the
// baseline: the runs' writes alone). The ratio is the cost of the promise
// that no action is made twice; runs/s is per chunk execution, the calls
// themselves taking no time.
func BenchmarkRunChunk(b *testing.B) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		for _, mode := range []string{"intent", "direct"} {
			b.Run(string(d)+"/"+mode, func(b *testing.B) {
				benchChunk(b, databasetest.New(b, d), mode == "intent")
			})
		}
	}
}

func benchChunk(b *testing.B, db *database.DB, intents bool) {
	tb := setup(b, db)
	tb.s.SetIntentsForTest(intents)
	ctx := context.Background()
	none := "none"
	for range 50 {
		if _, err := tb.s.CreateTask(ctx, tb.account, scheduler.TaskInput{ServiceID: tb.full, Type: "reboot", Cron: "0 * * * *", Notify: none}); err != nil {
			b.Fatal(err)
		}
	}
	var ran time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		tb.clock.Add(time.Hour)
		if n, err := tb.s.DueTasks(ctx); err != nil || n != 50 {
			b.Fatalf("DueTasks: %d, %v", n, err)
		}
		chunks := tb.jobRuns(b)
		chunk := chunks[len(chunks)-1]
		b.StartTimer()
		start := time.Now()
		if err := tb.s.ExecuteRunsForTest(ctx, chunk, 1, 6); err != nil {
			b.Fatal(err)
		}
		ran += time.Since(start)
	}
	b.ReportMetric(float64(50*b.N)/ran.Seconds(), "runs/s")
}
