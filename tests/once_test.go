package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/testkit"
)

// onceSettings run the replicas with a rescue horizon short enough for a
// test, and job budgets long enough that a held chunk is still in its
// budget when the test acts on it.
var onceSettings = schedSettings{record: true, rescueAfter: "25s", jobTimeout: "20s", extra: "billing {\n  retry_base = \"1s\"\n}\n"}

// chunkTypes are the 50 tasks of the chunk: 20 reboots, 10 snapshots, 10
// backups and 10 scripts.
func chunkTypes() []string {
	var types []string
	for i := range 50 {
		switch {
		case i < 20:
			types = append(types, "reboot")
		case i < 30:
			types = append(types, "snapshot")
		case i < 40:
			types = append(types, "backup")
		default:
			types = append(types, "custom_script")
		}
	}
	return types
}

// dueNow inserts one task per service, of the given types, due now on the
// replicas' clock (daily at 03:00 afterwards), so that the next due-tasks
// tick makes all their runs at once: one chunk of up to
// scheduler.runs_per_job runs.
func (e *schedEnv) dueNow(t testing.TB, account string, svcs, types []string) map[string]string {
	t.Helper()
	now := e.clock.Now()
	typeOf := map[string]string{}
	var q strings.Builder
	q.WriteString("INSERT INTO scheduled_tasks (id, account_id, service_id, type, script, cron, time_zone, enabled, notify, max_retries, next_run_at, created_at, updated_at) VALUES ")
	var args []any
	for i, svc := range svcs {
		if i > 0 {
			q.WriteString(", ")
		}
		id := uuid.Must(uuid.NewV7()).String()
		typeOf[id] = types[i]
		script := ""
		if types[i] == "custom_script" {
			script = "say hello"
		}
		q.WriteString("(?, ?, ?, ?, ?, '0 3 * * *', 'UTC', ?, 'failure', 3, ?, ?, ?)")
		args = append(args, id, account, svc, types[i], script, true, now, now, now)
	}
	if _, err := e.open(t).NewRaw(q.String(), args...).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return typeOf
}

// holdChunk holds the backend, makes 50 tasks due, moves the replicas'
// clock to the next minute (its due-tasks tick makes the chunk), and waits
// until the chunk's 50 calls are at the backend, held; it returns the
// replica whose plugin made them, the other one, the calls and each task's
// type.
func holdChunk(t testing.TB, env *schedEnv, cores []*core, account string) (victim, survivor *core, calls []backendCall, typeOf map[string]string) {
	t.Helper()
	svcs := env.services(t, account, 50)
	env.backend.hold()
	typeOf = env.dueNow(t, account, svcs, chunkTypes())
	if _, err := env.clock.NextMinute(); err != nil {
		t.Fatal(err)
	}
	calls = env.backend.waitCalls(t, "the chunk's 50 calls", func(c []backendCall) bool { return len(c) >= 50 })
	for _, c := range calls {
		if c.PPID != calls[0].PPID {
			t.Fatalf("the chunk's calls came from two replicas (%d and %d); one job executes a chunk", calls[0].PPID, c.PPID)
		}
	}
	for _, c := range cores {
		if c.cmd.Process.Pid == calls[0].PPID {
			victim = c
		} else {
			survivor = c
		}
	}
	if victim == nil {
		t.Fatalf("the calling plugin's parent %d is none of the replicas", calls[0].PPID)
	}
	return victim, survivor, calls, typeOf
}

// waitRunsFinal waits until every run has a final outcome.
func (e *schedEnv) waitRunsFinal(t testing.TB, n int) []runRow {
	t.Helper()
	var runs []runRow
	testkit.WaitWithin(t, fmt.Sprintf("%d runs with a final outcome", n), 5*time.Minute, func() bool {
		runs = e.runs(t)
		final := 0
		for _, r := range runs {
			switch r.Status {
			case "succeeded", "failed", "skipped", "unknown":
				final++
			}
		}
		return final >= n
	})
	return runs
}

// TestOnceReplicaKilledMidChunk: two replicas on PostgreSQL; a replica is
// killed (SIGKILL) while the 50 calls of a chunk are in flight at the
// backend. The other replica rescues the chunk and, with a plugin process
// of its own that remembers nothing, calls the backend for none of them
// again: restarts, snapshots and backups are found done at the backend
// (GetInfo, ListBackups by the key) and succeed; scripts, which nothing at
// the backend can confirm, end unknown and the customer is told. Exactly
// one backend call per run.
func TestOnceReplicaKilledMidChunk(t *testing.T) {
	t.Parallel()
	env := schedConfigWith(t, database.Postgres, onceSettings)
	cores := env.replicas(t, 2)
	_, account := customer(t, cores[0], "ada@example.net")
	victim, survivor, held, typeOf := holdChunk(t, env, cores, account)

	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.done <- <-victim.done
	// Its plugin is orphaned: end it too, as its supervisor would.
	_ = syscall.Kill(held[0].PID, syscall.SIGKILL)
	env.backend.release()

	runs := env.waitRunsFinal(t, 50)
	calls, reads := env.backend.snapshot()
	per := perKey(calls)
	got := map[string]int{}
	for _, r := range runs {
		if per[r.ID] != 1 {
			t.Errorf("run %s (%s) reached the backend %d times, want exactly 1", r.ID, typeOf[r.TaskID], per[r.ID])
		}
		got[typeOf[r.TaskID]+" "+r.Status]++
	}
	if len(calls) != 50 {
		t.Errorf("%d calls at the backend for 50 runs", len(calls))
	}
	want := map[string]int{"reboot succeeded": 20, "snapshot succeeded": 10, "backup succeeded": 10, "custom_script unknown": 10}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got)\n%s\nsurvivor log:\n%s", diff, survivor.logs.String())
	}
	if reads < 40 {
		t.Errorf("%d reads at the backend; the 40 restarts, snapshots and backups are settled by asking it", reads)
	}
	var unknownNotices int
	if err := env.open(t).NewRaw("SELECT count(*) FROM notification_events WHERE type = 'task.unknown'").Scan(context.Background(), &unknownNotices); err != nil {
		t.Fatal(err)
	}
	if unknownNotices != 10 {
		t.Errorf("%d task.unknown notices, want one per unknown run", unknownNotices)
	}
}

// TestOnceDatabaseOutageMidChunk: PostgreSQL becomes unreachable (a proxy
// between the replicas and it refuses and resets connections) while the
// 50 calls of a chunk are in flight. The calls complete; writing their
// outcomes fails and is retried with backoff — the calls are not made
// again — and succeeds once the database is back. Meanwhile the API
// answers 503 database_unavailable with Retry-After, and the outage is one
// log line, not one per request. Exactly one backend call per run.
func TestOnceDatabaseOutageMidChunk(t *testing.T) {
	t.Parallel()
	st := onceSettings
	st.proxy = true
	env := schedConfigWith(t, database.Postgres, st)
	cores := env.replicas(t, 2)
	token, account := customer(t, cores[0], "ada@example.net")
	caller, other, _, typeOf := holdChunk(t, env, cores, account)

	env.proxy.Cut()
	env.backend.release()
	testkit.WaitWithin(t, "the outcome write to fail and be retried", 2*time.Minute, func() bool {
		return strings.Contains(caller.logs.String(), "recording outcomes failed")
	})
	for range 3 {
		code, raw := other.send(t, "GET", "/api/v1/me", token, "", nil, nil)
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(raw, &p)
		if code != http.StatusServiceUnavailable || p.Code != "database_unavailable" {
			t.Errorf("GET /api/v1/me during the outage: %d %s, want 503 database_unavailable", code, raw)
		}
	}
	if err := env.proxy.Restore(); err != nil {
		t.Fatal(err)
	}

	runs := env.waitRunsFinal(t, 50)
	calls, _ := env.backend.snapshot()
	per := perKey(calls)
	for _, r := range runs {
		if per[r.ID] != 1 {
			t.Errorf("run %s (%s) reached the backend %d times, want exactly 1", r.ID, typeOf[r.TaskID], per[r.ID])
		}
		if r.Status != "succeeded" && !(r.Status == "unknown" && typeOf[r.TaskID] == "custom_script") {
			t.Errorf("run %s (%s) is %s", r.ID, typeOf[r.TaskID], r.Status)
		}
	}
	if len(calls) != 50 {
		t.Errorf("%d calls at the backend for 50 runs", len(calls))
	}
	if n := strings.Count(other.logs.String(), "database unreachable"); n != 1 {
		t.Errorf("the replica that answered 503s logged the outage %d times, want once", n)
	}
}

// TestOnceCreateInFlight: a replica is killed while its plugin's Create of
// a paid service is in flight at the backend. The other replica rescues
// the provisioning job, finds the create started without an outcome, and
// repeats it with the same key, as Create's policy allows: its plugin finds
// the server by the service id, so the backend created exactly one server,
// and the service is active on it.
func TestOnceCreateInFlight(t *testing.T) {
	t.Parallel()
	env := schedConfigWith(t, database.Postgres, onceSettings)
	cores := startReplicas(t, env.cfgPath, 2)
	token, account := customer(t, cores[0], "ada@example.net")
	plan, err := catalogtest.Plan(context.Background(), env.open(t), "recprov", 0)
	if err != nil {
		t.Fatal(err)
	}
	env.backend.hold()
	var order struct {
		Service struct {
			ID string `json:"id"`
		} `json:"service"`
	}
	if code := cores[0].call(t, "POST", "/api/v1/accounts/"+account+"/orders", token, map[string]any{"plan_id": plan, "cycle": "monthly"}, &order); code != http.StatusCreated {
		t.Fatalf("order: %d", code)
	}
	svc := order.Service.ID
	held := env.backend.waitCalls(t, "the create", func(c []backendCall) bool { return len(c) >= 1 })
	var victim *core
	for _, c := range cores {
		if c.cmd.Process.Pid == held[0].PPID {
			victim = c
		}
	}
	if victim == nil {
		t.Fatalf("the creating plugin's parent %d is none of the replicas", held[0].PPID)
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.done <- <-victim.done
	_ = syscall.Kill(held[0].PID, syscall.SIGKILL)
	env.backend.release()

	db := env.open(t)
	var ext string
	testkit.WaitWithin(t, "the service to be active", 5*time.Minute, func() bool {
		var row struct {
			Status     string `bun:"status"`
			ExternalID string `bun:"external_id"`
		}
		if err := db.NewRaw("SELECT status, external_id FROM services WHERE id = ?", svc).Scan(context.Background(), &row); err != nil {
			t.Fatal(err)
		}
		ext = row.ExternalID
		return row.Status == "active"
	})
	calls, _ := env.backend.snapshot()
	creates := 0
	for _, c := range calls {
		if c.Action == "create" && c.ServiceID == svc {
			creates++
		}
	}
	if creates != 1 {
		t.Errorf("the backend created %d servers for the service, want 1", creates)
	}
	if ext != "srv-1" {
		t.Errorf("the service is on %q, want the one server srv-1", ext)
	}
	var in struct {
		State  string `bun:"state"`
		Starts int    `bun:"starts"`
	}
	if err := db.NewRaw("SELECT state, starts FROM intents WHERE idem_key = ?", svc).Scan(context.Background(), &in); err != nil {
		t.Fatal(err)
	}
	if in.State != "succeeded" || in.Starts != 2 {
		t.Errorf("the create's record: %+v, want succeeded after a second start", in)
	}
}
