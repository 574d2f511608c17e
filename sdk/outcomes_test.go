package sdk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// outcomeBundle is one plugin process's environment over a data directory;
// restart closes it and opens a new one on the same directory, as a new
// plugin process would.
type outcomeBundle struct {
	dir string
	env *pluginEnv
	now time.Time
}

func setupOutcomes(t *testing.T) *outcomeBundle {
	t.Helper()
	b := &outcomeBundle{dir: t.TempDir(), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b.restart(t)
	return b
}

func (b *outcomeBundle) restart(t *testing.T) {
	t.Helper()
	if b.env != nil {
		if err := b.env.close(); err != nil {
			t.Fatal(err)
		}
	}
	b.env = newPluginEnv(b.dir, nil)
	b.env.now = func() time.Time { return b.now }
	t.Cleanup(func() { _ = b.env.close() })
}

func (b *outcomeBundle) ctx(t *testing.T) context.Context { return withEnv(t.Context(), b.env) }

// counted returns fn's run count and a fn creating "srv-<n>".
func counted(err error) (*atomic.Int32, func(context.Context) (*pb.CreateResponse, error)) {
	var n atomic.Int32
	return &n, func(context.Context) (*pb.CreateResponse, error) {
		i := n.Add(1)
		if err != nil {
			return nil, err
		}
		return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: "srv-" + string(rune('0'+i)), State: pb.ServiceState_SERVICE_STATE_PENDING}}, nil
	}
}

// TestOutcomesReplayAcrossRestart: a success is recorded on disk, so a
// repeat of the key after the process restarted returns it without acting.
func TestOutcomesReplayAcrossRestart(t *testing.T) {
	t.Parallel()
	b := setupOutcomes(t)
	creates := NewOutcomes[*pb.CreateResponse]("create")
	runs, fn := counted(nil)
	first, err := creates.Do(b.ctx(t), "k1", fn)
	if err != nil {
		t.Fatal(err)
	}
	b.restart(t)
	again, err := creates.Do(b.ctx(t), "k1", fn)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, again, protocmp.Transform()); diff != "" {
		t.Errorf("replayed outcome (-first +again):\n%s", diff)
	}
	if got := runs.Load(); got != 1 {
		t.Errorf("fn ran %d times, want 1", got)
	}
	if fi, err := os.Stat(filepath.Join(b.dir, OutcomesFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("outcome file: %v, %v; want mode 0600", fi, err)
	}
}

// TestOutcomesReplayOnlyPermanentRefusals: InvalidInput and NotFound are
// replayed (a repeat would meet them again); Unavailable and Capacity are
// not recorded, so the retry runs again.
func TestOutcomesReplayOnlyPermanentRefusals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err     *Error
		replays bool
	}{
		{FieldErrorf("plan_options.size", "no such size"), true},
		{Errorf(NotFound, "no such image"), true},
		{Errorf(NotSupported, "no IPv6 here"), true},
		{UnavailableError(time.Minute, "panel down"), false},
		{CapacityError(0, "no node has room"), false},
		{Errorf(Conflict, "locked"), false},
		{Errorf(Internal, "boom"), false},
	} {
		t.Run(tc.err.Kind.String(), func(t *testing.T) {
			t.Parallel()
			b := setupOutcomes(t)
			creates := NewOutcomes[*pb.CreateResponse]("create")
			runs, fn := counted(tc.err)
			_, err := creates.Do(b.ctx(t), "k", fn)
			b.restart(t)
			_, again := creates.Do(b.ctx(t), "k", fn)
			wantRuns := int32(2)
			if tc.replays {
				wantRuns = 1
				want := &Error{Kind: tc.err.Kind, Message: tc.err.Message, Field: tc.err.Field}
				if diff := cmp.Diff(want, again, cmp.Comparer(func(a, b error) bool { return a.Error() == b.Error() })); diff != "" {
					t.Errorf("replayed error (-want +got):\n%s", diff)
				}
			}
			if !errors.Is(err, tc.err) || KindOf(again) != tc.err.Kind {
				t.Errorf("errors %v, %v; want kind %s", err, again, tc.err.Kind)
			}
			if got := runs.Load(); got != wantRuns {
				t.Errorf("fn ran %d times, want %d", got, wantRuns)
			}
		})
	}
}

// TestOutcomesScopeIsTheOperation: one key in two operations is two keys.
func TestOutcomesScopeIsTheOperation(t *testing.T) {
	t.Parallel()
	b := setupOutcomes(t)
	runs, fn := counted(nil)
	a, _ := NewOutcomes[*pb.CreateResponse]("create").Do(b.ctx(t), "k", fn)
	c, _ := NewOutcomes[*pb.CreateResponse]("rebuild").Do(b.ctx(t), "k", fn)
	if runs.Load() != 2 || a.GetStatus().GetExternalId() == c.GetStatus().GetExternalId() {
		t.Errorf("runs %d, outcomes %v and %v; want two runs", runs.Load(), a, c)
	}
}

// TestOutcomesExpire: past its retention an outcome is forgotten (and
// deleted from the file), so the key acts again.
func TestOutcomesExpire(t *testing.T) {
	t.Parallel()
	b := setupOutcomes(t)
	creates := NewOutcomes[*pb.CreateResponse]("create", KeepFor(48*time.Hour))
	runs, fn := counted(nil)
	if _, err := creates.Do(b.ctx(t), "k", fn); err != nil {
		t.Fatal(err)
	}
	b.now = b.now.Add(47 * time.Hour)
	_, _ = creates.Do(b.ctx(t), "k", fn)
	if runs.Load() != 1 {
		t.Fatalf("within retention: fn ran %d times, want 1", runs.Load())
	}
	b.now = b.now.Add(2 * time.Hour)
	b.restart(t) // pruned at open
	store, err := b.env.openStore()
	if err != nil {
		t.Fatal(err)
	}
	if _, found, _ := store.get("create", "k"); found {
		t.Error("an expired outcome is still in the file")
	}
	_, _ = creates.Do(b.ctx(t), "k", fn)
	if runs.Load() != 2 {
		t.Errorf("after retention: fn ran %d times, want 2", runs.Load())
	}
}

// TestOutcomesWithoutDataDirRefuse: without a data directory Do refuses
// before acting, rather than act unrecorded.
func TestOutcomesWithoutDataDirRefuse(t *testing.T) {
	t.Parallel()
	runs, fn := counted(nil)
	_, err := NewOutcomes[*pb.CreateResponse]("create").Do(withEnv(t.Context(), newPluginEnv("", nil)), "k", fn)
	if KindOf(err) != Internal || runs.Load() != 0 {
		t.Errorf("got %v after %d runs; want Internal before any", err, runs.Load())
	}
	_, err = NewOutcomes[*pb.CreateResponse]("create").Do(t.Context(), "k", fn)
	if KindOf(err) != Internal || runs.Load() != 0 {
		t.Errorf("outside the SDK: got %v after %d runs; want Internal before any", err, runs.Load())
	}
}

// TestOutcomesConcurrentCallsRunOnce: calls with one key share one run.
func TestOutcomesConcurrentCallsRunOnce(t *testing.T) {
	t.Parallel()
	b := setupOutcomes(t)
	creates := NewOutcomes[*pb.CreateResponse]("create")
	var runs atomic.Int32
	inside, release := make(chan struct{}), make(chan struct{})
	fn := func(context.Context) (*pb.CreateResponse, error) {
		if runs.Add(1) == 1 {
			close(inside)
			<-release
		}
		return &pb.CreateResponse{Status: &pb.ServiceStatus{ExternalId: "srv"}}, nil
	}
	var wg sync.WaitGroup
	results := make([]string, 8)
	wg.Go(func() {
		r, _ := creates.Do(b.ctx(t), "k", fn)
		results[0] = r.GetStatus().GetExternalId()
	})
	<-inside
	for i := 1; i < len(results); i++ {
		wg.Go(func() {
			r, _ := creates.Do(b.ctx(t), "k", fn)
			results[i] = r.GetStatus().GetExternalId()
		})
	}
	close(release)
	wg.Wait()
	if runs.Load() != 1 {
		t.Errorf("fn ran %d times, want 1", runs.Load())
	}
	for _, r := range results {
		if r != "srv" {
			t.Fatalf("results %v", results)
		}
	}
}

// TestOutcomesInMemoryNeverWriteTheFile: RememberInMemory answers repeats
// in the process but writes nothing (a password stays off the disk).
func TestOutcomesInMemoryNeverWriteTheFile(t *testing.T) {
	t.Parallel()
	b := setupOutcomes(t)
	resets := NewOutcomes[*pb.ResetPasswordResponse]("reset_password", RememberInMemory())
	var runs atomic.Int32
	fn := func(context.Context) (*pb.ResetPasswordResponse, error) {
		runs.Add(1)
		return &pb.ResetPasswordResponse{Password: "s3cret"}, nil
	}
	_, _ = resets.Do(b.ctx(t), "k", fn)
	_, _ = resets.Do(b.ctx(t), "k", fn)
	if runs.Load() != 1 {
		t.Errorf("fn ran %d times in one process, want 1", runs.Load())
	}
	if _, err := os.Stat(filepath.Join(b.dir, OutcomesFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("outcome file: %v; want none", err)
	}
}
