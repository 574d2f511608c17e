package scheduler_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/sdk"
)

// fieldOf returns the code, the first field and the reason of err.
func fieldOf(err error) (apperr.Code, string, string) {
	e, ok := apperr.As(err)
	if !ok {
		return apperr.CodeOf(err), "", ""
	}
	field := ""
	if len(e.Fields) > 0 {
		field = e.Fields[0].Field
	}
	return e.Code, field, e.Reason
}

// TestCreateTaskValidation: every bad input is a 400 naming its field; a
// type the provisioner lacks is a 422 not_supported on type; another
// account's service is refused.
func TestCreateTaskValidation(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		type want struct {
			Code   apperr.Code
			Field  string
			Reason string
		}
		cases := []struct {
			name string
			in   scheduler.TaskInput
			want want
		}{
			{"bad cron", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Cron: "61 * * * *"}, want{apperr.Invalid, "cron", ""}},
			{"four fields", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Cron: "* * * *"}, want{apperr.Invalid, "cron", ""}},
			{"30 february", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Cron: "0 0 30 2 *"}, want{apperr.Invalid, "cron", ""}},
			{"bad zone", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Cron: "0 3 * * *", TimeZone: "Mars/Olympus"}, want{apperr.Invalid, "time_zone", ""}},
			{"bad type", scheduler.TaskInput{ServiceID: b.full, Type: "format_disk", Cron: "0 3 * * *"}, want{apperr.Invalid, "type", ""}},
			{"script without script", scheduler.TaskInput{ServiceID: b.full, Type: "custom_script", Cron: "0 3 * * *"}, want{apperr.Invalid, "script", ""}},
			{"script on reboot", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Script: "rm -rf /", Cron: "0 3 * * *"}, want{apperr.Invalid, "script", ""}},
			{"bad notify", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Cron: "0 3 * * *", Notify: "sometimes"}, want{apperr.Invalid, "notify", ""}},
			{"too many retries", scheduler.TaskInput{ServiceID: b.full, Type: "reboot", Cron: "0 3 * * *", MaxRetries: ptr(11)}, want{apperr.Invalid, "max_retries", ""}},
			{"script not supported", scheduler.TaskInput{ServiceID: b.basic, Type: "custom_script", Script: "uptime", Cron: "0 3 * * *"}, want{apperr.Unprocessable, "type", "not_supported"}},
			{"snapshot not supported", scheduler.TaskInput{ServiceID: b.basic, Type: "snapshot", Cron: "0 3 * * *"}, want{apperr.Unprocessable, "type", "not_supported"}},
			{"another account's service", scheduler.TaskInput{ServiceID: b.otherSvc, Type: "reboot", Cron: "0 3 * * *"}, want{apperr.Invalid, "service_id", ""}},
		}
		for _, c := range cases {
			_, err := b.s.CreateTask(ctx, b.account, c.in)
			code, field, reason := fieldOf(err)
			if diff := cmp.Diff(c.want, want{code, field, reason}); diff != "" {
				t.Errorf("%s: (-want +got)\n%s", c.name, diff)
			}
		}
	})
}

// TestTaskTypes: each service lists every task type and whether its
// provisioner supports it, from the capabilities its plugin describes;
// another account's service is NotFound.
func TestTaskTypes(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		got, err := b.s.TaskTypes(ctx, b.account, b.basic)
		if err != nil {
			t.Fatal(err)
		}
		want := []scheduler.TaskType{
			{Type: "reboot", Supported: true, Capability: "provisioner.power"},
			{Type: "snapshot", Supported: false, Capability: "provisioner.snapshot"},
			{Type: "backup", Supported: false, Capability: "provisioner.backup"},
			{Type: "custom_script", Supported: false, Capability: "provisioner.run_script"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("basic (-want +got)\n%s", diff)
		}
		got, err = b.s.TaskTypes(ctx, b.account, b.full)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range got {
			if !tt.Supported {
				t.Errorf("full: %s not supported", tt.Type)
			}
		}
		if _, err := b.s.TaskTypes(ctx, b.account, b.otherSvc); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("another account's service: %v, want NotFound", err)
		}
	})
}

// TestCreateTaskPreview: a created task previews its next five runs in
// its zone, and its next run is the first of them.
func TestCreateTaskPreview(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		task, err := b.s.CreateTask(context.Background(), b.account, scheduler.TaskInput{
			ServiceID: b.full, Name: "nightly", Type: "custom_script", Script: "apt-get upgrade -y", Cron: "30 2 * * *", TimeZone: "Europe/Berlin"})
		if err != nil {
			t.Fatal(err)
		}
		var want []time.Time
		for d := 3; d <= 7; d++ { // 02:30 CET = 01:30 UTC, from Tuesday 3 March
			want = append(want, time.Date(2026, 3, d, 1, 30, 0, 0, time.UTC))
		}
		if diff := cmp.Diff(want, task.NextRuns); diff != "" {
			t.Errorf("next runs (-want +got)\n%s", diff)
		}
		if task.NextRunAt == nil || !task.NextRunAt.Equal(want[0]) {
			t.Errorf("next_run_at %v, want %v", task.NextRunAt, want[0])
		}
		p, err := b.s.PreviewSchedule(context.Background(), b.account, "0 12 * * 1", "UTC")
		if err != nil || len(p.NextRuns) != 5 || !p.NextRuns[0].Equal(time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("preview %+v, %v", p, err)
		}
	})
}

func mustTask(t *testing.T, b *testBundle, in scheduler.TaskInput) *scheduler.Task {
	t.Helper()
	if in.ServiceID == "" {
		in.ServiceID = b.full
	}
	task, err := b.s.CreateTask(context.Background(), b.account, in)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestMissedRunsCaughtUpOnce: after three hours of downtime a task due
// every 5 minutes runs once, not 36 times, and its next run is computed
// from now; a second pass makes nothing.
func TestMissedRunsCaughtUpOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		task := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "*/5 * * * *"})
		b.clock.Add(3*time.Hour + 2*time.Minute) // 12:02
		n, err := b.s.DueTasks(ctx)
		if err != nil || n != 1 {
			t.Fatalf("DueTasks: %d runs, %v; want 1", n, err)
		}
		if n, err := b.s.DueTasks(ctx); err != nil || n != 0 {
			t.Fatalf("second DueTasks: %d runs, %v; want 0", n, err)
		}
		runs := b.runs(t, task.ID)
		if len(runs) != 1 || !runs[0].DueAt.Equal(time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC)) || runs[0].Status != scheduler.RunQueued {
			t.Fatalf("runs %+v, want one queued run due at the first missed time", runs)
		}
		got, err := b.s.Task(ctx, b.account, task.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := time.Date(2026, 3, 2, 12, 5, 0, 0, time.UTC); !got.NextRunAt.Equal(want) {
			t.Errorf("next_run_at %v, want %v (from now)", got.NextRunAt, want)
		}
		if n := b.jobCount(t, scheduler.KindTaskRun); n != 1 {
			t.Errorf("%d run jobs, want 1", n)
		}
	})
}

// TestConcurrentDueTasksMakeOneRunEach: several due-tasks passes at once
// (replicas, a retried tick) turn each due time into exactly one run and
// one job.
func TestConcurrentDueTasksMakeOneRunEach(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{tune: func(o *scheduler.Options) { o.BatchSize = 7 }})
		ctx := context.Background()
		var ids []string
		for range 40 {
			ids = append(ids, mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"}).ID)
		}
		b.clock.Add(time.Hour)
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range 4 {
			wg.Go(func() {
				n, err := b.s.DueTasks(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		if total != 40 {
			t.Errorf("%d runs made in total, want 40", total)
		}
		for _, id := range ids {
			if rs := b.runs(t, id); len(rs) != 1 {
				t.Errorf("task %s has %d runs, want 1", id, len(rs))
			}
		}
		// Every run is in exactly one job, in chunks of at most 7 (the
		// batch size and RunsPerJob's default of 50 bound them).
		inJobs := map[string]int{}
		for _, chunk := range b.jobRuns(t) {
			if len(chunk) == 0 || len(chunk) > 7 {
				t.Errorf("a run job with %d runs", len(chunk))
			}
			for _, id := range chunk {
				inJobs[id]++
			}
		}
		for _, id := range ids {
			rs := b.runs(t, id)
			if len(rs) == 1 && inJobs[rs[0].ID] != 1 {
				t.Errorf("run %s is in %d jobs, want 1", rs[0].ID, inJobs[rs[0].ID])
			}
		}
		if len(inJobs) != 40 {
			t.Errorf("%d runs in jobs, want 40", len(inJobs))
		}
	})
}

// TestRolledBackTransactionLeavesNoJob: due-tasks work done inside a
// transaction that rolls back leaves neither runs nor jobs, and the task
// is still due.
func TestRolledBackTransactionLeavesNoJob(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		task := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		errRollback := errors.New("roll back")
		err := db.Tx(context.Background(), func(ctx context.Context, _ bun.Tx) error {
			if n, err := b.s.DueTasks(ctx); err != nil || n != 1 {
				t.Errorf("DueTasks in the transaction: %d, %v", n, err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("transaction: %v", err)
		}
		if n := b.jobCount(t, scheduler.KindTaskRun); n != 0 {
			t.Errorf("%d run jobs after the rollback, want 0", n)
		}
		if rs := b.runs(t, task.ID); len(rs) != 0 {
			t.Errorf("%d runs after the rollback, want 0", len(rs))
		}
		if n, err := b.s.DueTasks(context.Background()); err != nil || n != 1 {
			t.Errorf("DueTasks after the rollback: %d, %v; the task should still be due", n, err)
		}
	})
}

// TestScriptOutputWithNULIsRecorded: a script whose output carries NUL
// bytes (binary data) succeeds, with the NULs stored as U+FFFD on both
// dialects; PostgreSQL refuses NUL in text, and the run's outcome could not
// be written.
func TestScriptOutputWithNULIsRecorded(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		task := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "cat archive", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		run := b.runs(t, task.ID)[0]
		if err := b.s.ExecuteRunForTest(ctx, run.ID, false); err != nil {
			t.Fatalf("executing the run: %v", err)
		}
		got := b.runs(t, task.ID)[0]
		if want := "PK\x03\x04\uFFFD\uFFFD archive"; got.Status != scheduler.RunSucceeded || got.Output != want {
			t.Errorf("run: status %s, output %q; want succeeded, %q", got.Status, got.Output, want)
		}
	})
}

// TestExecuteRunKeysAndRetries: the first attempt calls the plugin with the
// run id as key; a call refused before anything happened (the backend asked
// to come back later) retries with the same key; a definite failure (the
// backend said no) retries with a new key; success is recorded with the
// output, and a failed final attempt notifies.
func TestExecuteRunKeysAndRetries(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		task := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "uptime", Cron: "0 * * * *", MaxRetries: ptr(2)})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		run := b.runs(t, task.ID)[0]
		answers := []error{sdk.UnavailableError(time.Second, "rate limited"), sdk.Errorf(sdk.Conflict, "server locked"), nil}
		b.prov.errFunc = func(call) error { e := answers[0]; answers = answers[1:]; return e }
		for i := 0; i < 3; i++ {
			err := b.s.ExecuteRunForTest(ctx, run.ID, false)
			if (i < 2) != (err != nil) {
				t.Fatalf("execution %d: %v", i+1, err)
			}
		}
		var keys []string
		for _, c := range b.prov.Calls() {
			keys = append(keys, c.Key)
		}
		if diff := cmp.Diff([]string{run.ID, run.ID, run.ID + "/2"}, keys); diff != "" {
			t.Errorf("idempotency keys (-want +got)\n%s", diff)
		}
		got := b.runs(t, task.ID)[0]
		if got.Status != scheduler.RunSucceeded || got.Attempt != 2 || got.Output != "ran uptime" || got.StartedAt == nil || got.CompletedAt == nil {
			t.Errorf("run %+v", got)
		}
		// A repeat of the job (rescued after it completed) does nothing.
		if err := b.s.ExecuteRunForTest(ctx, run.ID, false); err != nil || len(b.prov.Calls()) != 3 {
			t.Errorf("repeat after success: %v, %d calls", err, len(b.prov.Calls()))
		}
		if len(b.notices.Types()) != 0 {
			t.Errorf("notices %v; notify=failure and the run succeeded", b.notices.Types())
		}

		b.prov.errFunc = nil
		// A script that keeps failing fails the run after 1+max_retries
		// attempts, with a notice.
		failing := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "fail", Cron: "0 * * * *", MaxRetries: ptr(1)})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		fr := b.runs(t, failing.ID)[0]
		if err := b.s.ExecuteRunForTest(ctx, fr.ID, false); err == nil {
			t.Fatal("first failing attempt returned nil; River should retry it")
		}
		if err := b.s.ExecuteRunForTest(ctx, fr.ID, false); err != nil {
			t.Fatalf("final attempt: %v", err)
		}
		got = b.runs(t, failing.ID)[0]
		if got.Status != scheduler.RunFailed || got.Attempt != 2 || got.Error != "the script exited with status 2" || got.Output != "boom" {
			t.Errorf("failed run %+v", got)
		}
		if diff := cmp.Diff([]string{scheduler.NoticeTaskFailed}, b.notices.Types()); diff != "" {
			t.Errorf("notices (-want +got)\n%s", diff)
		}
	})
}

// TestRunSkippedForInactiveService: a run of a suspended service is
// recorded as skipped without calling the plugin.
func TestRunSkippedForInactiveService(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		task := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		if err := billingtest.SetServiceStatus(ctx, db, b.full, "suspended"); err != nil {
			t.Fatal(err)
		}
		run := b.runs(t, task.ID)[0]
		if err := b.s.ExecuteRunForTest(ctx, run.ID, false); err != nil {
			t.Fatal(err)
		}
		got := b.runs(t, task.ID)[0]
		if got.Status != scheduler.RunSkipped || got.Error != "the service is suspended" || len(b.prov.Calls()) != 0 {
			t.Errorf("run %+v, %d calls", got, len(b.prov.Calls()))
		}
	})
}

// TestMaintenanceWindowDefersRun: a run due outside the account's only
// window waits for its next opening, and the task's next run comes after
// that opening (no pile-up of waiting runs).
func TestMaintenanceWindowDefersRun(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		if _, err := b.s.CreateWindow(ctx, b.account, scheduler.WindowInput{Days: []string{"sat"}, Start: "01:00", DurationMinutes: 120, TimeZone: "America/New_York"}); err != nil {
			t.Fatal(err)
		}
		task := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"}) // hourly, due Monday 10:00 UTC
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		opening := time.Date(2026, 3, 7, 6, 0, 0, 0, time.UTC) // Saturday 01:00 EST
		runs := b.runs(t, task.ID)
		if len(runs) != 1 || runs[0].Status != scheduler.RunWaiting || !runs[0].RunAfter.Equal(opening) {
			t.Fatalf("runs %+v, want one waiting until %v", runs, opening)
		}
		got, _ := b.s.Task(ctx, b.account, task.ID)
		if want := opening.Add(time.Hour); !got.NextRunAt.Equal(want) {
			t.Errorf("next_run_at %v, want %v", got.NextRunAt, want)
		}
		var scheduled time.Time
		if err := db.NewSelect().Table("river_job").Column("scheduled_at").Where("kind = ?", scheduler.KindTaskRun).Scan(ctx, &scheduled); err != nil {
			t.Fatal(err)
		}
		if !scheduled.Equal(opening) {
			t.Errorf("the run's job is scheduled at %v, want %v", scheduled, opening)
		}
		// Inside the window the next due time runs at once.
		b.clock.Set(opening.Add(time.Hour))
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		runs = b.runs(t, task.ID)
		if len(runs) != 2 || runs[1].Status != scheduler.RunQueued {
			t.Errorf("runs %+v, want the second queued", runs)
		}
	})
}

// TestNextRunAcrossNewYorkDST: a daily 02:30 task in New York runs at the
// moment the clocks spring forward (03:00 EDT) when 02:30 does not exist,
// and once (the first 01:30) when the clocks fall back; next_run_at in the
// database follows.
func TestNextRunAcrossNewYorkDST(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		b.clock.Set(time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC))
		spring := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "30 2 * * *", TimeZone: "America/New_York"})
		fall := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "30 1 * * *", TimeZone: "America/New_York"})
		next := func(id string) time.Time {
			got, err := b.s.Task(ctx, b.account, id)
			if err != nil {
				t.Fatal(err)
			}
			return got.NextRunAt.UTC()
		}
		// Sunday 8 March: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
		for _, want := range []time.Time{
			time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC),
			time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC), // 02:30 EDT
		} {
			if got := next(spring.ID); !got.Equal(want) {
				t.Fatalf("spring next_run_at %v, want %v", got, want)
			}
			b.clock.Set(want.Add(30 * time.Second))
			if _, err := b.s.DueTasks(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// Sunday 1 November: 01:30 EDT (05:30 UTC) happens, the repeated
		// 01:30 EST (06:30 UTC) does not.
		b.clock.Set(time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC))
		if _, err := b.s.UpdateTask(ctx, b.account, fall.ID, scheduler.TaskPatch{Cron: ptr("30 1 * * *")}); err != nil {
			t.Fatal(err)
		}
		for _, want := range []time.Time{
			time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC),
			time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC),
		} {
			if got := next(fall.ID); !got.Equal(want) {
				t.Fatalf("fall next_run_at %v, want %v", got, want)
			}
			b.clock.Set(want.Add(30 * time.Second))
			if _, err := b.s.DueTasks(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var dues []time.Time
		for _, r := range b.runs(t, fall.ID) {
			if r.DueAt.Month() == time.November {
				dues = append(dues, r.DueAt.UTC())
			}
		}
		if diff := cmp.Diff([]time.Time{time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 11, 2, 6, 30, 0, 0, time.UTC)}, dues); diff != "" {
			t.Errorf("fall runs (-want +got)\n%s", diff)
		}
	})
}

// TestTasksScopedToAccount: another account's task is NotFound for every
// operation, and lists show only the account's tasks.
func TestTasksScopedToAccount(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		task := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		if _, err := b.s.Task(ctx, b.other, task.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Task from another account: %v", err)
		}
		if _, err := b.s.UpdateTask(ctx, b.other, task.ID, scheduler.TaskPatch{Enabled: ptr(false)}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("UpdateTask from another account: %v", err)
		}
		if err := b.s.DeleteTask(ctx, b.other, task.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("DeleteTask from another account: %v", err)
		}
		if _, err := b.s.Runs(ctx, b.other, task.ID, "", 10); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Runs from another account: %v", err)
		}
		if ts, err := b.s.Tasks(ctx, b.other, "", "", 10); err != nil || len(ts) != 0 {
			t.Errorf("other account's list: %d tasks, %v", len(ts), err)
		}
		if err := b.s.DeleteTask(ctx, b.account, task.ID); err != nil {
			t.Errorf("DeleteTask: %v", err)
		}
	})
}
