package intent_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

func start(key string, a intent.Action) intent.Start {
	return intent.Start{Key: key, Action: a, Plugin: "p", ServiceID: "svc-" + key, Subject: "task_run:" + key}
}

// TestBeginAndFinish: Begin starts new keys and keys whose last start
// was not done, never a key already started or finished; Finish records
// an outcome only on a started action, and not_done lets it start again.
func TestBeginAndFinish(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		s := intent.New(db, intent.Options{Now: func() time.Time { return now }})
		begin := func(starts ...intent.Start) map[string]bool {
			t.Helper()
			var got map[string]bool
			if err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
				var err error
				got, err = s.Begin(ctx, tx, starts)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return got
		}
		finish := func(outs ...intent.Outcome) {
			t.Helper()
			if err := s.Finish(ctx, db.DB, outs); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff(map[string]bool{"a": true, "b": true, "c": true}, begin(start("a", intent.PowerRestart), start("b", intent.Backup), start("c", intent.RunScript))); diff != "" {
			t.Errorf("first Begin (-want +got)\n%s", diff)
		}
		// A second execution finds them started: nothing to call.
		if diff := cmp.Diff(map[string]bool{"d": true}, begin(start("a", intent.PowerRestart), start("d", intent.Create))); diff != "" {
			t.Errorf("Begin of started keys (-want +got)\n%s", diff)
		}
		now = now.Add(time.Minute)
		finish(intent.Outcome{Key: "a", State: intent.Succeeded, Detail: "restarted"},
			intent.Outcome{Key: "b", State: intent.NotDone, Detail: "plugin restarting"},
			intent.Outcome{Key: "c", State: intent.Started}, // in doubt: stays started
			intent.Outcome{Key: "d", State: intent.Unknown, Detail: "nobody can tell"})
		// An outcome never overwrites another.
		finish(intent.Outcome{Key: "a", State: intent.Failed, Detail: "late"})
		if diff := cmp.Diff(map[string]bool{"b": true}, begin(start("a", intent.PowerRestart), start("b", intent.Backup), start("c", intent.RunScript))); diff != "" {
			t.Errorf("Begin after outcomes (-want +got)\n%s", diff)
		}
		got, err := s.Load(ctx, []string{"a", "b", "c", "d", "e"})
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			State    intent.State
			Starts   int
			Finished bool
			Detail   string
		}
		view := map[string]row{}
		for k, in := range got {
			view[k] = row{in.State, in.Starts, in.FinishedAt != nil, in.Detail}
		}
		want := map[string]row{
			"a": {intent.Succeeded, 1, true, "restarted"},
			"b": {intent.Started, 2, false, ""}, // started again after not_done
			"c": {intent.Started, 1, false, ""},
			"d": {intent.Unknown, 1, true, "nobody can tell"},
		}
		if diff := cmp.Diff(want, view); diff != "" {
			t.Errorf("intents (-want +got)\n%s", diff)
		}
		if got["b"].StartedAt.Equal(got["c"].StartedAt) {
			t.Error("a restarted action kept its first start time")
		}
		// Pruning deletes finished intents past the retention only.
		now = now.Add(8 * 24 * time.Hour)
		if n, err := s.Prune(ctx); err != nil || n != 2 {
			t.Errorf("Prune: %d, %v; want the two finished intents", n, err)
		}
	})
}

// TestClassify: what a call's error leaves the action in.
func TestClassify(t *testing.T) {
	t.Parallel()
	notSent := sdk.UnavailableError(time.Second, "plugin restarting").WithCause(pluginhost.ErrNotSent)
	for _, c := range []struct {
		name string
		err  error
		want intent.State
	}{
		{"success", nil, intent.Succeeded},
		{"not sent", fmt.Errorf("calling: %w", notSent), intent.NotDone},
		{"rate limited", sdk.UnavailableError(30*time.Second, "429"), intent.NotDone},
		{"backend timeout", sdk.UnavailableError(0, "the backend did not answer"), intent.Started},
		{"host deadline", sdk.UnavailableError(time.Second, "killed").WithCause(context.DeadlineExceeded), intent.Started},
		{"deadline", context.DeadlineExceeded, intent.Started},
		{"internal", sdk.Errorf(sdk.Internal, "unexpected answer"), intent.Started},
		{"plain error", errors.New("lost"), intent.Started},
		{"refused", sdk.Errorf(sdk.Conflict, "server locked"), intent.Failed},
		{"invalid", sdk.FieldErrorf("action", "bad"), intent.Failed},
		{"not found", sdk.Errorf(sdk.NotFound, "gone"), intent.Failed},
	} {
		if got := intent.Classify(c.err); got != c.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", c.name, c.err, got, c.want)
		}
	}
}

// backend answers GetInfo and ListBackups for Reconcile.
type backend struct {
	sdk.ProvisionerClient
	attrs   map[string]string
	backups []*pb.BackupInfo
	err     error
}

func (b *backend) GetInfo(context.Context, *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	if b.err != nil {
		return nil, b.err
	}
	return &pb.GetInfoResponse{Status: &pb.ServiceStatus{Attributes: b.attrs}}, nil
}

func (b *backend) ListBackups(context.Context, *pb.ListBackupsRequest) (*pb.ListBackupsResponse, error) {
	if b.err != nil {
		return nil, b.err
	}
	return &pb.ListBackupsResponse{Backups: b.backups}, nil
}

// TestReconcile: each policy of the table settles a started action: a
// restart after the intent is done, one not seen cannot be told (never
// repeated); a backup named by the key is done, none means make it again;
// a script cannot be told; Create is repeated; a backend that cannot be
// asked now is an error (try later).
func TestReconcile(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	in := func(a intent.Action) *intent.Intent {
		return &intent.Intent{Key: "run-1/2", Action: a, StartedAt: at}
	}
	for _, c := range []struct {
		name string
		a    intent.Action
		b    *backend
		want intent.Verdict
		err  bool
	}{
		{"restarted after", intent.PowerRestart, &backend{attrs: map[string]string{intent.AttrPowerChangedAt: at.Add(time.Second).Format(time.RFC3339)}}, intent.Done, false},
		{"restarted before", intent.PowerRestart, &backend{attrs: map[string]string{intent.AttrPowerChangedAt: at.Add(-time.Hour).Format(time.RFC3339)}}, intent.CannotTell, false},
		{"restart not reported", intent.PowerRestart, &backend{attrs: map[string]string{}}, intent.CannotTell, false},
		{"booted", intent.PowerBoot, &backend{attrs: map[string]string{intent.AttrPowerState: "running"}}, intent.Done, false},
		{"still stopped", intent.PowerBoot, &backend{attrs: map[string]string{intent.AttrPowerState: "stopped"}}, intent.CannotTell, false},
		{"shut down", intent.PowerShutdown, &backend{attrs: map[string]string{intent.AttrPowerState: "stopped"}}, intent.Done, false},
		{"backup named", intent.Backup, &backend{backups: []*pb.BackupInfo{{Id: "b1", Name: intent.Name("ezscale-backup", "run-1/2")}}}, intent.Done, false},
		{"backup of another key", intent.Backup, &backend{backups: []*pb.BackupInfo{{Id: "b1", Name: intent.Name("ezscale-backup", "run-1")}, {Id: "b2", Name: "x"}}}, intent.Again, false},
		{"snapshot named", intent.Snapshot, &backend{backups: []*pb.BackupInfo{{Id: "s1", Name: intent.Name("ezscale-snapshot", "run-1/2")}}}, intent.Done, false},
		{"script", intent.RunScript, &backend{}, intent.CannotTell, false},
		{"action", intent.InvokeAction, &backend{}, intent.CannotTell, false},
		{"create", intent.Create, &backend{}, intent.Again, false},
		{"not in the table", intent.Action("format_disk"), &backend{}, intent.CannotTell, false},
		{"backend down", intent.PowerRestart, &backend{err: sdk.UnavailableError(0, "down")}, 0, true},
		{"backend lacks backups", intent.Backup, &backend{err: sdk.Errorf(sdk.NotSupported, "no")}, intent.CannotTell, false},
	} {
		v, detail, err := intent.Reconcile(context.Background(), c.b, &pb.ServiceRef{ServiceId: "s"}, in(c.a))
		if (err != nil) != c.err || v != c.want {
			t.Errorf("%s: Reconcile = %v (%s), %v; want %v, error %v", c.name, v, detail, err, c.want, c.err)
		}
		if err == nil && detail == "" {
			t.Errorf("%s: no detail", c.name)
		}
	}
}

// TestPolicyTable: every action type the core starts has a row, and the
// guarantee follows the repeat rule.
func TestPolicyTable(t *testing.T) {
	t.Parallel()
	seen := map[intent.Action]bool{}
	for _, p := range intent.Policies {
		if seen[p.Action] {
			t.Errorf("%s has two rows", p.Action)
		}
		seen[p.Action] = true
		if (p.Repeat == intent.Never) != (p.Guarantee == intent.AtMostOnce) {
			t.Errorf("%s: repeat %s with guarantee %s", p.Action, p.Repeat, p.Guarantee)
		}
	}
	for _, a := range []intent.Action{intent.PowerBoot, intent.PowerShutdown, intent.PowerRestart, intent.Snapshot, intent.Backup, intent.RunScript, intent.InvokeAction, intent.Create} {
		if !seen[a] {
			t.Errorf("%s has no row", a)
		}
	}
}

// TestRecordWithRetry: an outcome write that fails for want of a
// connection (PostgreSQL behind a proxy the test cuts) is retried with
// backoff until the database is back, and then succeeds; a statement the
// database refuses is not retried.
func TestRecordWithRetry(t *testing.T) {
	t.Parallel()
	u := databasetest.URL(t, database.Postgres)
	proxy := databasetest.NewProxy(t, u)
	ctx := context.Background()
	db, err := database.Open(ctx, proxy.URL(u), database.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := intent.New(db, intent.Options{})

	attempts := make(chan int, 1000)
	n := 0
	write := func(ctx context.Context) error {
		n++
		attempts <- n
		_, err := db.NewRaw("SELECT 1").Exec(ctx)
		return err
	}
	proxy.Cut()
	jobCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.RecordWithRetry(jobCtx, "test outcomes", write) }()
	<-attempts
	<-attempts // failed once and retrying
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("RecordWithRetry after the outage: %v", err)
	}

	calls := 0
	err = s.RecordWithRetry(jobCtx, "bad statement", func(ctx context.Context) error {
		calls++
		_, err := db.NewRaw("SELEC 1").Exec(ctx)
		return err
	})
	if err == nil || calls != 1 {
		t.Errorf("a refused statement: %v after %d calls, want its error after 1", err, calls)
	}
}

// TestRepeat: an action whose policy says repeating is safe (Create) is
// started again whatever its state; one that may not be repeated (a
// restart) only after a start that was not done.
func TestRepeat(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := intent.New(db, intent.Options{})
		if _, err := s.Begin(ctx, db.DB, []intent.Start{start("svc", intent.Create), start("run", intent.PowerRestart), start("run2", intent.PowerRestart)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(ctx, db.DB, []intent.Outcome{{Key: "run2", State: intent.NotDone}}); err != nil {
			t.Fatal(err)
		}
		for key, want := range map[string]bool{"svc": true, "run": false, "run2": true, "none": false} {
			got, err := s.Repeat(ctx, db.DB, key)
			if err != nil || got != want {
				t.Errorf("Repeat(%s) = %v, %v; want %v", key, got, err, want)
			}
		}
		got, err := s.Load(ctx, []string{"svc"})
		if err != nil || got["svc"].Starts != 2 || got["svc"].State != intent.Started {
			t.Errorf("repeated create: %+v, %v", got["svc"], err)
		}
	})
}
