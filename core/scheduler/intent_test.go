package scheduler_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// statuses maps each task to its run's status.
func (b *testBundle) statuses(t *testing.T, tasks map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, id := range tasks {
		out[name] = b.runs(t, id)[0].Status
	}
	return out
}

// TestInterruptedRunsAreSettled: a replica recorded its runs' actions as
// started, called the backend and died before writing any outcome. The
// rescued chunk calls nothing again blindly: a restart the backend shows
// after the action was recorded succeeded, a backup named by the run's key
// succeeded, a script and a restart the backend cannot tell about end
// unknown (the customer is told), and a backup the backend does not have
// is made again with the same key, once.
func TestInterruptedRunsAreSettled(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		ids, err := billingtest.Services(ctx, db, b.account, b.planFull, 1)
		if err != nil {
			t.Fatal(err)
		}
		muted := ids[0]
		b.prov.mute = map[string]bool{muted: true}
		tasks := map[string]string{
			"reboot":       mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"}).ID,
			"backup":       mustTask(t, b, scheduler.TaskInput{Type: "backup", Cron: "0 * * * *"}).ID,
			"script":       mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "echo hi", Cron: "0 * * * *"}).ID,
			"muted reboot": mustTask(t, b, scheduler.TaskInput{ServiceID: muted, Type: "reboot", Cron: "0 * * * *"}).ID,
			"lost backup":  mustTask(t, b, scheduler.TaskInput{ServiceID: muted, Type: "backup", Cron: "0 * * * *"}).ID,
		}
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		chunk := b.jobRuns(t)[0]
		run := map[string]*scheduler.Run{}
		for name, id := range tasks {
			run[name] = b.runs(t, id)[0]
		}

		// The dead replica's work: runs running, actions started, and the
		// backend's effects of the calls that reached it.
		store := intent.New(db, intent.Options{Now: b.clock.Now})
		if err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			var starts []intent.Start
			for name, a := range map[string]intent.Action{"reboot": intent.PowerRestart, "backup": intent.Backup, "script": intent.RunScript,
				"muted reboot": intent.PowerRestart, "lost backup": intent.Backup} {
				starts = append(starts, intent.Start{Key: run[name].ID, Action: a, Plugin: "full", ServiceID: run[name].ServiceID})
			}
			if _, err := store.Begin(ctx, tx, starts); err != nil {
				return err
			}
			_, err := tx.NewRaw("UPDATE task_runs SET status = ?, started_at = ?", scheduler.RunRunning, b.clock.Now()).Exec(ctx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b.prov.restartedAt = map[string]time.Time{b.full: b.clock.Now().Add(time.Second), muted: b.clock.Now().Add(time.Second)}
		name := intent.Name("ezscale-backup-x", run["backup"].ID)
		b.prov.backups = map[string][]*pb.BackupInfo{b.full: {{Id: "bk1", Name: name, Status: "pending"}}}

		b.clock.Add(10 * time.Minute)
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 2, 6); err == nil {
			t.Fatal("the rescued chunk returned nil; the lost backup is to be made again")
		}
		if n := len(b.prov.Calls()); n != 0 {
			t.Errorf("the rescued chunk made %d calls, want none before its retry: %v", n, b.prov.Calls())
		}
		want := map[string]string{"reboot": scheduler.RunSucceeded, "backup": scheduler.RunSucceeded, "script": scheduler.RunUnknown,
			"muted reboot": scheduler.RunUnknown, "lost backup": scheduler.RunRetrying}
		if diff := cmp.Diff(want, b.statuses(t, tasks)); diff != "" {
			t.Errorf("runs after the rescue (-want +got)\n%s", diff)
		}
		if r := b.runs(t, tasks["script"])[0]; !strings.Contains(r.Error, "not repeated") || r.CompletedAt == nil {
			t.Errorf("unknown script run %+v: want an error saying it was not repeated", r)
		}
		if diff := cmp.Diff([]string{scheduler.NoticeTaskUnknown, scheduler.NoticeTaskUnknown}, b.notices.Types()); diff != "" {
			t.Errorf("notices (-want +got)\n%s", diff)
		}

		// The retry makes the lost backup, with its key, once.
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 3, 6); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if diff := cmp.Diff([]call{{Action: "backup", Key: run["lost backup"].ID, ServiceID: muted}}, b.prov.Calls()); diff != "" {
			t.Errorf("calls (-want +got)\n%s", diff)
		}
		want["lost backup"] = scheduler.RunSucceeded
		if diff := cmp.Diff(want, b.statuses(t, tasks)); diff != "" {
			t.Errorf("runs after the retry (-want +got)\n%s", diff)
		}
		actions, err := store.Load(ctx, []string{run["reboot"].ID, run["script"].ID, run["lost backup"].ID})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]intent.State{}
		for k, in := range actions {
			got[k] = in.State
		}
		if diff := cmp.Diff(map[string]intent.State{run["reboot"].ID: intent.Succeeded, run["script"].ID: intent.Unknown, run["lost backup"].ID: intent.Succeeded}, got); diff != "" {
			t.Errorf("actions (-want +got)\n%s", diff)
		}
		// Nothing is left to do or tell.
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 4, 6); err != nil || len(b.prov.Calls()) != 1 || len(b.notices.Types()) != 2 {
			t.Errorf("repeat: %v, %d calls, notices %v", err, len(b.prov.Calls()), b.notices.Types())
		}
	})
}

// TestAnswerLostIsNotRepeated: the backend acted but the call ended
// without an answer (the plugin reported the backend unreachable). A
// script ends unknown at once; a restart stays in doubt and the job's
// retry finds it done through GetInfo: one call each, never two.
func TestAnswerLostIsNotRepeated(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		reboot := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		script := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "say hello", Cron: "0 * * * *", Notify: "none"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		b.prov.effectFirst = true
		b.prov.errFunc = func(call) error { return sdk.UnavailableError(0, "the backend did not answer") }
		chunk := b.jobRuns(t)[0]
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 1, 6); err == nil {
			t.Fatal("nil; the restart is in doubt and to be settled on the retry")
		}
		tasks := map[string]string{"reboot": reboot.ID, "script": script.ID}
		if diff := cmp.Diff(map[string]string{"reboot": scheduler.RunRetrying, "script": scheduler.RunUnknown}, b.statuses(t, tasks)); diff != "" {
			t.Errorf("after the first execution (-want +got)\n%s", diff)
		}
		b.clock.Add(time.Minute)
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 2, 6); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"reboot": scheduler.RunSucceeded, "script": scheduler.RunUnknown}, b.statuses(t, tasks)); diff != "" {
			t.Errorf("after the retry (-want +got)\n%s", diff)
		}
		per := map[string]int{}
		for _, c := range b.prov.Calls() {
			per[c.Action]++
		}
		if diff := cmp.Diff(map[string]int{"power": 1, "run_script": 1}, per); diff != "" {
			t.Errorf("calls per action (-want +got)\n%s", diff)
		}
		if b.prov.Reads() != 1 {
			t.Errorf("%d backend reads, want the one GetInfo that settled the restart", b.prov.Reads())
		}
		// notify = none: an unknown outcome is recorded, nobody told.
		if len(b.notices.Types()) != 0 {
			t.Errorf("notices %v", b.notices.Types())
		}
	})
}

// TestBreakerOpenHoldsRuns: a chunk whose runs' plugin is down on this
// replica (breaker open) executes the others, leaves those queued without
// a call or a spent attempt, and snoozes so that any replica takes them.
func TestBreakerOpenHoldsRuns(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		onFull := mustTask(t, b, scheduler.TaskInput{Type: "reboot", Cron: "0 * * * *"})
		onBasic := mustTask(t, b, scheduler.TaskInput{ServiceID: b.basic, Type: "reboot", Cron: "0 * * * *"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		b.plugins.down.Store("basic", true)
		chunk := b.jobRuns(t)[0]
		err := b.s.ExecuteRunsForTest(ctx, chunk, 1, 6)
		var snooze *rivertype.JobSnoozeError
		if !errors.As(err, &snooze) {
			t.Fatalf("execution: %v, want a snooze", err)
		}
		if r := b.runs(t, onBasic.ID)[0]; r.Status != scheduler.RunQueued || r.Attempt != 1 || r.StartedAt != nil {
			t.Errorf("held run %+v, want queued and untouched", r)
		}
		if r := b.runs(t, onFull.ID)[0]; r.Status != scheduler.RunSucceeded {
			t.Errorf("the other plugin's run is %s, want succeeded", r.Status)
		}
		b.plugins.down.Delete("basic")
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 1, 6); err != nil {
			t.Fatalf("after the plugin is back: %v", err)
		}
		if r := b.runs(t, onBasic.ID)[0]; r.Status != scheduler.RunSucceeded {
			t.Errorf("held run %s after the plugin is back, want succeeded", r.Status)
		}
		if n := len(b.prov.Calls()); n != 2 {
			t.Errorf("%d calls, want one per run", n)
		}
	})
}

// watchLog is a log sink that closes seen when a line contains want.
type watchLog struct {
	want string
	once sync.Once
	seen chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (w *watchLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	if bytes.Contains(p, []byte(w.want)) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

// TestOutcomeWriteRetried: PostgreSQL goes away (a proxy the test cuts)
// while a chunk's calls are under way; writing the outcomes fails and is
// retried with backoff until the database is back — the calls are not
// made again, and every run is recorded once.
func TestOutcomeWriteRetried(t *testing.T) {
	t.Parallel()
	u := databasetest.URL(t, database.Postgres)
	proxy := databasetest.NewProxy(t, u)
	ctx := context.Background()
	db, err := database.Open(ctx, proxy.URL(u), database.Options{MaxOpenConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	logs := &watchLog{want: "recording outcomes failed", seen: make(chan struct{})}
	b := setup(t, db, setupOpts{logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn})})
	var tasks []string
	for i := range 5 {
		in := scheduler.TaskInput{Type: []string{"reboot", "backup", "custom_script"}[i%3], Cron: "0 * * * *"}
		if in.Type == "custom_script" {
			in.Script = "echo"
		}
		tasks = append(tasks, mustTask(t, b, in).ID)
	}
	b.clock.Add(time.Hour)
	if _, err := b.s.DueTasks(ctx); err != nil {
		t.Fatal(err)
	}
	chunk := b.jobRuns(t)[0]
	var cut sync.Once
	b.prov.errFunc = func(call) error {
		cut.Do(proxy.Cut)
		return nil
	}
	go func() {
		<-logs.seen
		if err := proxy.Restore(); err != nil {
			t.Error(err)
		}
	}()
	jobCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := b.s.ExecuteRunsForTest(jobCtx, chunk, 1, 6); err != nil {
		t.Fatalf("execution across the outage: %v\n%s", err, logs.buf.String())
	}
	for _, id := range tasks {
		if r := b.runs(t, id)[0]; r.Status != scheduler.RunSucceeded {
			t.Errorf("run of task %s is %s, want succeeded", id, r.Status)
		}
	}
	per := map[string]int{}
	for _, c := range b.prov.Calls() {
		per[c.Key]++
	}
	for k, n := range per {
		if n != 1 {
			t.Errorf("key %s called %d times", k, n)
		}
	}
	if len(per) != len(tasks) {
		t.Errorf("%d keys called, want %d", len(per), len(tasks))
	}
}

// TestNoRoomIsRetriedWithTheSameKey: a backend with no room for a script
// (Capacity) refused it before acting, so the run is retried with the same
// key rather than ending unknown as a call without an answer does; the
// retry runs it once.
func TestNoRoomIsRetriedWithTheSameKey(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		ctx := context.Background()
		script := mustTask(t, b, scheduler.TaskInput{Type: "custom_script", Script: "say hello", Cron: "0 * * * *", Notify: "none"})
		b.clock.Add(time.Hour)
		if _, err := b.s.DueTasks(ctx); err != nil {
			t.Fatal(err)
		}
		b.prov.errFunc = func(call) error { return sdk.CapacityError(0, "no runner has room") }
		chunk := b.jobRuns(t)[0]
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 1, 6); err == nil {
			t.Fatal("nil; the script is to be run again on the retry")
		}
		tasks := map[string]string{"script": script.ID}
		if diff := cmp.Diff(map[string]string{"script": scheduler.RunRetrying}, b.statuses(t, tasks)); diff != "" {
			t.Errorf("after the refused call (-want +got)\n%s", diff)
		}
		b.prov.errFunc = nil
		b.clock.Add(time.Minute)
		if err := b.s.ExecuteRunsForTest(ctx, chunk, 2, 6); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if diff := cmp.Diff(map[string]string{"script": scheduler.RunSucceeded}, b.statuses(t, tasks)); diff != "" {
			t.Errorf("after the retry (-want +got)\n%s", diff)
		}
		calls := b.prov.Calls()
		if len(calls) != 2 || calls[0].Key != calls[1].Key {
			t.Errorf("calls %+v; want the script twice with one key", calls)
		}
	})
}
