package tests

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/testkit"
)

// benchTasks is how many tasks fall due in the same minute.
const benchTasks = 10000

// BenchmarkScheduler10kDue measures 10,000 automated tasks (reboots) due
// in the same minute against the no-op provisioner plugin (a real plugin
// process per replica), with real `ezscale serve` processes: the time from
// the due minute until every run completed, and the p50/p99 delay between
// the due time and a run's start. Run it with -benchtime=1x: one
// iteration is a whole scenario (about two and a half minutes, most of it
// waiting for the due minute).
//
// The tasks exist before the due-tasks tick a minute ahead of their due
// time, as a deployment's tasks do, so their runs are made ahead
// (scheduler.lookahead); the "at_due" scenario sets the lookahead to 0 to
// measure runs made in the due minute itself.
func BenchmarkScheduler10kDue(b *testing.B) {
	for _, sc := range []struct {
		name      string
		dialect   database.Dialect
		replicas  int
		workers   int
		lookahead string
	}{
		{"sqlite/replicas=1", database.SQLite, 1, 100, "1m"},
		{"postgres/replicas=1", database.Postgres, 1, 200, "1m"},
		{"postgres/replicas=2", database.Postgres, 2, 200, "1m"},
		{"postgres/replicas=1/at_due", database.Postgres, 1, 200, "0s"},
	} {
		b.Run(sc.name, func(b *testing.B) {
			for range b.N {
				benchDue(b, sc.dialect, sc.replicas, sc.workers, sc.lookahead)
			}
		})
	}
}

func benchDue(b *testing.B, dialect database.Dialect, replicas, workers int, lookahead string) {
	b.StopTimer()
	env := schedConfig(b, dialect, false, fmt.Sprintf("  workers = %d\n", workers), fmt.Sprintf("  lookahead = %q\n", lookahead))
	cores := startReplicas(b, env.cfgPath, replicas)
	_ = cores
	ctx := context.Background()
	db := env.open(b)
	account, err := accountstest.Account(ctx, db, "bench@example.net")
	if err != nil {
		b.Fatal(err)
	}
	plan, err := catalogtest.Plan(ctx, db, "recprov", 1000)
	if err != nil {
		b.Fatal(err)
	}
	svcs, err := billingtest.Services(ctx, db, account, plan, benchTasks)
	if err != nil {
		b.Fatal(err)
	}
	// Due daily (nothing else falls due while we measure) at the second
	// minute at least 20 s away: the tick a minute before it comes after
	// the tasks exist.
	due := time.Now().UTC().Add(20 * time.Second).Truncate(time.Minute).Add(2 * time.Minute)
	cron := fmt.Sprintf("%d %d * * *", due.Minute(), due.Hour())
	now := time.Now().UTC()
	for start := 0; start < benchTasks; start += 500 {
		var q strings.Builder
		q.WriteString("INSERT INTO scheduled_tasks (id, account_id, service_id, type, cron, time_zone, enabled, notify, max_retries, next_run_at, created_at, updated_at) VALUES ")
		var args []any
		for i := start; i < min(benchTasks, start+500); i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, 'reboot', ?, 'UTC', ?, 'none', 0, ?, ?, ?)")
			args = append(args, uuid.Must(uuid.NewV7()).String(), account, svcs[i], cron, true, due, now, now)
		}
		if _, err := db.NewRaw(q.String(), args...).Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(time.Until(due))
	b.StartTimer()
	testkit.WaitWithin(b, "10,000 runs to complete", 5*time.Minute, func() bool {
		n, err := db.NewSelect().Table("task_runs").Where("status = 'succeeded'").Count(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return n >= benchTasks
	})
	b.StopTimer()
	var rows []struct {
		DueAt       time.Time `bun:"due_at"`
		StartedAt   time.Time `bun:"started_at"`
		CompletedAt time.Time `bun:"completed_at"`
	}
	if err := db.NewRaw("SELECT due_at, started_at, completed_at FROM task_runs").Scan(ctx, &rows); err != nil {
		b.Fatal(err)
	}
	if len(rows) != benchTasks {
		b.Fatalf("%d runs, want %d", len(rows), benchTasks)
	}
	delays := make([]float64, 0, len(rows))
	var last time.Time
	for _, r := range rows {
		delays = append(delays, r.StartedAt.Sub(r.DueAt).Seconds())
		if r.CompletedAt.After(last) {
			last = r.CompletedAt
		}
	}
	slices.Sort(delays)
	b.ReportMetric(last.Sub(due).Seconds(), "s_all_done")
	b.ReportMetric(delays[len(delays)/2], "s_p50_delay")
	b.ReportMetric(delays[len(delays)*99/100], "s_p99_delay")
	b.ReportMetric(float64(benchTasks)/last.Sub(due).Seconds(), "runs/s")
}
