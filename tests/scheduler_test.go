package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ezscale/platform/core/app/testclock"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/tests/testbin"
)

var (
	recprovOnce sync.Once
	recprovBin  string
	recprovErr  error
)

// recprov builds the recording provisioner plugin once per test binary.
func recprov(t testing.TB) string {
	t.Helper()
	recprovOnce.Do(func() {
		recprovBin, recprovErr = testbin.Test("./tests/plugins/recprov", "ezscale-plugin-recprov")
	})
	if recprovErr != nil {
		t.Fatal(recprovErr)
	}
	return privateCopy(t, recprovBin)
}

// schedEnv is a scheduler test's shared state: the database (the URL the
// replicas use, and the test's own), the fake backend behind the recording
// provisioner, the config replicas start from, and the clock they follow
// (the test moves it; see core/app/testclock).
type schedEnv struct {
	dbURL   string
	testURL string
	proxy   *databasetest.Proxy
	backend *fakeBackend
	cfgPath string
	clock   *testclock.Driver
	db      *database.DB
}

// schedSettings are what a test changes in schedConfig's config.
type schedSettings struct {
	// record: the plugin acts on a fake backend (false: the no-op plugin
	// of the benchmark).
	record bool
	// proxy: the replicas reach PostgreSQL through a proxy the test can
	// cut.
	proxy bool
	// rescueAfter and jobTimeout replace the 10 s rescue horizon and the
	// 8 s job budget.
	rescueAfter, jobTimeout string
	// jobsExtra and schedExtra are lines added to the jobs and scheduler
	// blocks; extra is appended to the file.
	jobsExtra, schedExtra, extra string
}

// schedConfig writes the replicas' config: the recording provisioner, a
// 10 s rescue horizon with every scheduler job bounded at 8 s, fast polls;
// jobsExtra and schedExtra are lines added to the jobs and scheduler
// blocks.
func schedConfig(t testing.TB, dialect database.Dialect, record bool, jobsExtra, schedExtra string) *schedEnv {
	t.Helper()
	return schedConfigWith(t, dialect, schedSettings{record: record, jobsExtra: jobsExtra, schedExtra: schedExtra})
}

func schedConfigWith(t testing.TB, dialect database.Dialect, st schedSettings) *schedEnv {
	t.Helper()
	env := &schedEnv{testURL: databasetest.URL(t, dialect)}
	env.dbURL = env.testURL
	clock, err := testclock.NewDriver(filepath.Join(t.TempDir(), "clock"))
	if err != nil {
		t.Fatal(err)
	}
	env.clock = clock
	if st.proxy {
		env.proxy = databasetest.NewProxy(t, env.testURL)
		env.dbURL = env.proxy.URL(env.testURL)
	}
	backendURL := ""
	if st.record {
		env.backend = newFakeBackend(t, clock.Now)
		backendURL = env.backend.url
	}
	if st.rescueAfter == "" {
		st.rescueAfter, st.jobTimeout = "10s", "8s"
	}
	jobsBudget := fmt.Sprintf("  rescue_after        = %q\n  default_timeout     = %q\n", st.rescueAfter, st.jobTimeout)
	// Two health probes and the pause between them must end inside a job.
	schedBudget := fmt.Sprintf("  job_timeout            = %q\n  check_timeout          = \"2s\"\n  retry_base             = \"1s\"\n  retry_max              = \"2s\"\n", st.jobTimeout)
	if st.rescueAfter == "default" {
		// The shipped defaults: the derived rescue horizon and its
		// budgets, the default backoff.
		jobsBudget, schedBudget = "", ""
	}
	src := fmt.Sprintf(`server {
  listen     = "127.0.0.1:0"
  public_url = "http://portal.example.test"
}
database {
  url            = %q
  max_open_conns = 40
}
log {
  level  = "info"
  format = "json"
}
jobs {
%s  fetch_poll_interval = "100ms"
  fetch_cooldown      = "10ms"
%s}
scheduler {
%s  recovery_interval      = "10s"
  recovery_allow_private = true
%s}
notifications {
  email_plugin = ""
}
plugin "recprov" {
  path = %q
  config {
    backend_url = %q
    record      = %v
  }
}
%s`, env.dbURL, jobsBudget, st.jobsExtra, schedBudget, st.schedExtra, recprov(t), backendURL, st.record, st.extra)
	env.cfgPath = filepath.Join(t.TempDir(), "ezscale.hcl")
	if err := os.WriteFile(env.cfgPath, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return env
}

// serve starts a replica on the environment's config and clock.
func (e *schedEnv) serve(t testing.TB) *core {
	t.Helper()
	return serve(t, e.cfgPath, testclock.Env+"="+e.clock.Path())
}

// replicas starts n replicas on the environment's config and clock, the
// first alone so that it migrates the database before the others connect.
func (e *schedEnv) replicas(t testing.TB, n int) []*core {
	t.Helper()
	return startReplicas(t, e.cfgPath, n, testclock.Env+"="+e.clock.Path())
}

// nextMinute moves the replicas' clock to the next minute and waits until
// its due-tasks job ran (once, on one replica) and every run due by then
// reached an outcome, so that no run is working when the clock moves
// again. It returns the minute.
func (e *schedEnv) nextMinute(t testing.TB) time.Time {
	t.Helper()
	m, err := e.clock.NextMinute()
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitWithin(t, "the due-tasks job of "+m.Format("15:04"), 2*time.Minute, func() bool {
		var n int
		if err := e.open(t).NewRaw("SELECT count(*) FROM scheduler_ticks WHERE kind = ? AND tick_at = ?", scheduler.KindDueTasks, m).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	// The job records its tick before it makes the runs (batch by batch,
	// each its own transaction): until it has finished, "every run due has
	// an outcome" could hold of runs not made yet.
	testkit.WaitWithin(t, "the due-tasks job of "+m.Format("15:04")+" to finish", 2*time.Minute, func() bool {
		var n int
		if err := e.open(t).NewRaw("SELECT count(*) FROM river_job WHERE kind = ? AND state IN ('available', 'running', 'retryable')", scheduler.KindDueTasks).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
	testkit.WaitWithin(t, "the runs due by "+m.Format("15:04")+" to end", 2*time.Minute, func() bool {
		for _, r := range e.runs(t) {
			if !r.DueAt.After(m) && !finalRun(r.Status) {
				return false
			}
		}
		return true
	})
	return m
}

// finalRun reports whether a run's status is an outcome.
func finalRun(status string) bool {
	switch status {
	case "succeeded", "failed", "skipped", "unknown":
		return true
	}
	return false
}

// open opens the replicas' database (after the first replica migrated it),
// directly, not through the proxy.
func (e *schedEnv) open(t testing.TB) *database.DB {
	t.Helper()
	if e.db == nil {
		db, err := database.Open(context.Background(), e.testURL, database.Options{MaxOpenConns: 5})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		e.db = db
	}
	return e.db
}

// customer signs up a customer on the core and returns the session token
// and the account id.
func customer(t *testing.T, c *core, email string) (token, account string) {
	t.Helper()
	const password = "correct horse battery"
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": password}, &signup); code != http.StatusCreated {
		t.Fatalf("signup: %d", code)
	}
	var login struct {
		Token string `json:"token"`
	}
	if code := c.call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password}, &login); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	return login.Token, signup.Account.ID
}

// services gives the account n active services on a plan of the recording
// provisioner.
func (e *schedEnv) services(t testing.TB, account string, n int) []string {
	t.Helper()
	ctx := context.Background()
	db := e.open(t)
	plan, err := catalogtest.Plan(ctx, db, "recprov", 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := billingtest.Services(ctx, db, account, plan, n)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

type runRow struct {
	ID      string    `bun:"id"`
	TaskID  string    `bun:"task_id"`
	Status  string    `bun:"status"`
	Attempt int       `bun:"attempt"`
	DueAt   time.Time `bun:"due_at"`
}

func (e *schedEnv) runs(t testing.TB) []runRow {
	t.Helper()
	var rs []runRow
	if err := e.open(t).NewRaw("SELECT id, task_id, status, attempt, due_at FROM task_runs ORDER BY due_at, id").Scan(context.Background(), &rs); err != nil {
		t.Fatal(err)
	}
	return rs
}

// startReplicas starts n `ezscale serve` on the config, the first alone so
// that it migrates the database before the others connect; env is added to
// their environment.
func startReplicas(t testing.TB, cfg string, n int, env ...string) []*core {
	t.Helper()
	cores := []*core{serve(t, cfg, env...)}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range n - 1 {
		wg.Go(func() {
			c := serve(t, cfg, env...)
			mu.Lock()
			cores = append(cores, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	return cores
}

// TestSchedulerAPI: tasks through the API of a replica: a bad cron or zone
// is a 400 naming the field, the preview endpoint answers five runs,
// Idempotency-Key makes a create safe to repeat, custom scripts need the
// provisioner's capability, and another account's task is a 404.
func TestSchedulerAPI(t *testing.T) {
	t.Parallel()
	env := schedConfig(t, database.SQLite, true, "", "")
	c := env.serve(t)
	token, account := customer(t, c, "ada@example.net")
	svc := env.services(t, account, 1)[0]
	base := "/api/v1/accounts/" + account

	type problem struct {
		Code   string `json:"code"`
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"service_id": svc, "type": "reboot", "cron": "0 25 * * *"}, "cron"},
		{map[string]any{"service_id": svc, "type": "reboot", "cron": "0 3 * * *", "time_zone": "Nowhere/City"}, "time_zone"},
	} {
		var p problem
		if code := c.callProblem(t, "POST", base+"/tasks", token, bad.body, &p); code != http.StatusBadRequest || len(p.Errors) == 0 || p.Errors[0].Field != bad.field {
			t.Errorf("%v: %d %+v, want 400 naming %s", bad.body, code, p, bad.field)
		}
	}
	var preview struct {
		NextRuns []time.Time `json:"next_runs"`
	}
	if code := c.call(t, "POST", base+"/tasks/preview", token, map[string]any{"cron": "0 9 * * 1-5", "time_zone": "Asia/Tokyo"}, &preview); code != http.StatusOK || len(preview.NextRuns) != 5 {
		t.Errorf("preview: %d %+v", code, preview)
	}
	var t1, t2 struct {
		ID       string      `json:"id"`
		NextRuns []time.Time `json:"next_runs"`
	}
	body := map[string]any{"service_id": svc, "type": "custom_script", "script": "uptime", "cron": "0 3 * * *", "time_zone": "Europe/Berlin"}
	if code := c.callKey(t, "POST", base+"/tasks", token, "key-1", body, &t1); code != http.StatusCreated || len(t1.NextRuns) != 5 {
		t.Fatalf("create: %d %+v", code, t1)
	}
	if code := c.callKey(t, "POST", base+"/tasks", token, "key-1", body, &t2); code != http.StatusCreated || t2.ID != t1.ID {
		t.Errorf("repeat with the same key: %d, id %s, want %s", code, t2.ID, t1.ID)
	}
	otherToken, _ := customer(t, c, "eve@example.net")
	for _, path := range []string{base + "/tasks/" + t1.ID, base + "/tasks/" + t1.ID + "/runs", base + "/tasks"} {
		if code := c.call(t, "GET", path, otherToken, nil, nil); code != http.StatusNotFound {
			t.Errorf("GET %s as another customer: %d, want 404", path, code)
		}
	}
	var list struct {
		Data []map[string]any `json:"data"`
	}
	if code := c.call(t, "GET", base+"/tasks", token, nil, &list); code != http.StatusOK || len(list.Data) != 1 {
		t.Errorf("list: %d, %d tasks", code, len(list.Data))
	}
	if code := c.call(t, "PUT", base+"/services/"+svc+"/recovery", token, map[string]any{"check_type": "tcp", "target": "127.0.0.1", "port": 1}, nil); code != http.StatusOK {
		t.Errorf("set recovery: %d", code)
	}
	if code := c.call(t, "POST", base+"/maintenance-windows", token, map[string]any{"days": []string{"sun"}, "start": "03:00", "duration_minutes": 120, "time_zone": "UTC"}, nil); code != http.StatusCreated {
		t.Errorf("create window: %d", code)
	}
}

// TestSchedulerExactlyOnceAcrossReplicas: three replicas on one PostgreSQL;
// 24 tasks due every minute for two minutes (of the replicas' clock, which
// the test moves): every run reaches the backend exactly once (each
// replica's plugin remembers keys in its own process only), and every tick
// of the periodic jobs ran once.
func TestSchedulerExactlyOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	env := schedConfig(t, database.Postgres, true, "", "")
	cores := env.replicas(t, 3)
	token, account := customer(t, cores[0], "ada@example.net")
	svcs := env.services(t, account, 24)
	var taskIDs []string
	for i, svc := range svcs {
		typ := []string{"reboot", "snapshot", "backup", "custom_script"}[i%4]
		body := map[string]any{"service_id": svc, "type": typ, "cron": "* * * * *"}
		if typ == "custom_script" {
			body["script"] = "echo hello"
		}
		var task struct {
			ID string `json:"id"`
		}
		if code := cores[i%3].call(t, "POST", "/api/v1/accounts/"+account+"/tasks", token, body, &task); code != http.StatusCreated {
			t.Fatalf("create task: %d", code)
		}
		taskIDs = append(taskIDs, task.ID)
	}
	twice := func() bool {
		per := map[string]int{}
		for _, r := range env.runs(t) {
			if r.Status == "succeeded" {
				per[r.TaskID]++
			}
		}
		for _, id := range taskIDs {
			if per[id] < 2 {
				return false
			}
		}
		return true
	}
	// Minute by minute until every task ran twice: the first minute runs
	// the first runs (and makes the next ones ahead), the second the next.
	for range 4 {
		if twice() {
			break
		}
		env.nextMinute(t)
	}
	if !twice() {
		t.Fatal("after four minutes, not every task has two succeeded runs")
	}
	// Stop the replicas so nothing runs while we count.
	for _, c := range cores {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range cores {
		<-c.done
	}
	runs := env.runs(t)
	calls, _ := env.backend.snapshot()
	executed := perKey(calls)
	seen := map[string]bool{}
	succeeded := 0
	for _, r := range runs {
		key := r.TaskID + r.DueAt.String()
		if seen[key] {
			t.Errorf("task %s has two runs due at %s", r.TaskID, r.DueAt)
		}
		seen[key] = true
		if r.Status != "succeeded" {
			continue
		}
		succeeded++
		if executed[r.ID] != 1 {
			t.Errorf("run %s reached the backend %d times, want 1", r.ID, executed[r.ID])
		}
	}
	if len(executed) != succeeded {
		t.Errorf("%d keys reached the backend, %d runs succeeded", len(executed), succeeded)
	}
	var ticks []struct {
		Kind string    `bun:"kind"`
		At   time.Time `bun:"tick_at"`
		Runs int       `bun:"runs"`
	}
	if err := env.open(t).NewRaw("SELECT kind, tick_at, runs FROM scheduler_ticks ORDER BY kind, tick_at").Scan(context.Background(), &ticks); err != nil {
		t.Fatal(err)
	}
	due := 0
	for _, tk := range ticks {
		if tk.Runs != 1 {
			t.Errorf("%s tick %s ran %d times, want once", tk.Kind, tk.At, tk.Runs)
		}
		if tk.Kind == "scheduler_due_tasks" {
			due++
		}
	}
	if due < 2 {
		t.Errorf("%d due-tasks ticks recorded, want at least 2", due)
	}
	byReplica := map[int]int{}
	for _, c := range calls {
		byReplica[c.PPID]++
	}
	t.Logf("%d runs succeeded; backend calls per replica (by parent pid): %v", succeeded, byReplica)
}

// TestSchedulerCatchUpAfterDowntime: a task due every minute whose core was
// down for two hours runs once when the core is back, for its first missed
// due time, and its next due time is after now.
func TestSchedulerCatchUpAfterDowntime(t *testing.T) {
	t.Parallel()
	env := schedConfig(t, database.SQLite, true, "", "")
	c := env.serve(t)
	token, account := customer(t, c, "ada@example.net")
	svc := env.services(t, account, 1)[0]
	var task struct {
		ID string `json:"id"`
	}
	if code := c.call(t, "POST", "/api/v1/accounts/"+account+"/tasks", token,
		map[string]any{"service_id": svc, "type": "reboot", "cron": "* * * * *", "enabled": false}, &task); code != http.StatusCreated {
		t.Fatalf("create task: %d", code)
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	<-c.done
	// Two hours of downtime: the task has been due since then.
	missed := env.clock.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	if _, err := env.open(t).NewRaw("UPDATE scheduled_tasks SET enabled = ?, next_run_at = ? WHERE id = ?", true, missed, task.ID).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = env.db.Close()
	env.db = nil
	env.serve(t)
	// The back core's first due-tasks job, at the next minute.
	env.nextMinute(t)
	if len(env.runs(t)) == 0 {
		t.Fatal("no run after the due-tasks job")
	}
	var next time.Time
	if err := env.open(t).NewRaw("SELECT next_run_at FROM scheduled_tasks WHERE id = ?", task.ID).Scan(context.Background(), &next); err != nil {
		t.Fatal(err)
	}
	runs := env.runs(t)
	missedRuns := 0
	now := env.clock.Now()
	for _, r := range runs {
		if r.DueAt.Before(now.Add(-time.Hour)) {
			missedRuns++
			if !r.DueAt.Equal(missed) {
				t.Errorf("caught-up run due at %s, want the first missed time %s", r.DueAt, missed)
			}
		}
	}
	if missedRuns != 1 {
		t.Errorf("%d runs for the two missed hours, want 1", missedRuns)
	}
	if next.Before(now.Add(-time.Minute)) {
		t.Errorf("next_run_at %s is not from now", next)
	}
}

// callKey is call with an Idempotency-Key.
func (c *core) callKey(t *testing.T, method, path, token, key string, in, out any) int {
	t.Helper()
	code, _ := c.send(t, method, path, token, key, in, out)
	return code
}

// callProblem is call that decodes an error answer into problem.
func (c *core) callProblem(t *testing.T, method, path, token string, in, problem any) int {
	t.Helper()
	code, raw := c.send(t, method, path, token, "", in, nil)
	if code >= 300 {
		_ = json.Unmarshal(raw, problem)
	}
	return code
}

func (c *core) send(t *testing.T, method, path, token, key string, in, out any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, raw
}
