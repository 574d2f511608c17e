package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// KindTaskRun is the kind of the job that executes runs: the runs of a
// chunk made by one due-tasks pass (up to Options.RunsPerJob of them).
const KindTaskRun = "scheduler_task_run"

// riverMargin is how many River attempts a run's job has beyond the run's
// own: attempts whose outcome is unknown (a replica died, the plugin was
// unreachable) are retried with the same idempotency key and do not count
// as the run's attempts, up to this margin.
const riverMargin = 5

// runArgs are the runs one job executes. Jobs made before runs were
// chunked name a single run in RunID; both forms are worked.
type runArgs struct {
	RunIDs []string `json:"run_ids,omitempty"`
	RunID  string   `json:"run_id,omitempty"`

	// ahead (not stored) marks the job of runs made ahead of their due
	// time: see readyAtDue.
	ahead bool
}

func (runArgs) Kind() string { return KindTaskRun }

// Hooks attaches readyAtDue to the run jobs.
func (runArgs) Hooks() []rivertype.Hook { return []rivertype.Hook{&readyAtDue{}} }

// readyAtDue inserts the job of runs made ahead of their due time as
// available at that time instead of scheduled: River works an available
// job only once its scheduled_at has passed (the state River itself gives
// a job retried after a short delay), while a scheduled job waits for the
// leader's scheduler to promote it, which runs every few seconds and
// would start the runs seconds late.
type readyAtDue struct{ river.HookDefaults }

func (*readyAtDue) InsertBegin(_ context.Context, p *rivertype.JobInsertParams) error {
	if a, ok := p.Args.(runArgs); ok && a.ahead && p.State == rivertype.JobStateScheduled {
		p.State = rivertype.JobStateAvailable
	}
	return nil
}

func (a runArgs) ids() []string {
	if a.RunID != "" {
		return append([]string{a.RunID}, a.RunIDs...)
	}
	return a.RunIDs
}

type runWorker struct {
	river.WorkerDefaults[runArgs]
	s *Service
}

// Timeout bounds the whole chunk: its runs' calls happen concurrently,
// each bounded at 90 % of it.
func (w *runWorker) Timeout(*river.Job[runArgs]) time.Duration { return w.s.opts.JobTimeout }

// NextRetry spaces a run's attempts: RetryBase doubling per attempt up to
// RetryMax, with ±10 % jitter so that many runs failing together (a
// provisioner outage) do not retry together.
func (w *runWorker) NextRetry(job *river.Job[runArgs]) time.Time {
	return w.s.now().Add(w.s.backoff(job.Attempt))
}

func (s *Service) backoff(attempt int) time.Duration {
	d := s.opts.RetryBase
	for i := 1; i < attempt && d < s.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, s.opts.RetryMax)
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// Work executes the chunk's unfinished runs. A run's last try is the
// job's last River attempt, or the run's own limit (its attempts plus
// riverMargin) when the chunk holds runs of tasks with more retries.
func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.s.executeRuns(ctx, job.Args.ids(), func(rc *runContext) bool {
		return job.Attempt >= job.MaxAttempts || job.Attempt >= rc.MaxAttempts+riverMargin
	})
}

// runContext is a run with what executing it needs.
type runContext struct {
	RunID       string    `bun:"run_id"`
	TaskID      string    `bun:"task_id"`
	Status      string    `bun:"status"`
	Attempt     int       `bun:"attempt"`
	MaxAttempts int       `bun:"max_attempts"`
	DueAt       time.Time `bun:"due_at"`
	TaskName    string    `bun:"task_name"`
	Type        string    `bun:"type"`
	Script      string    `bun:"script"`
	Enabled     bool      `bun:"enabled"`
	Notify      string    `bun:"notify"`

	ID           string `bun:"id"`
	AccountID    string `bun:"account_id"`
	SvcStatus    string `bun:"svc_status"`
	Label        string `bun:"label"`
	ExternalID   string `bun:"external_id"`
	Options      string `bun:"options"`
	PlanID       string `bun:"plan_id"`
	Plugin       string `bun:"plugin"`
	PlanOptions  string `bun:"plan_options"`
	OrderOptions string `bun:"order_options"`
	PlanName     string `bun:"plan_name"`
	Attributes   string `bun:"attributes"`
}

func (rc *runContext) service() *serviceRef {
	return &serviceRef{ID: rc.ID, AccountID: rc.AccountID, Status: rc.SvcStatus, Label: rc.Label, ExternalID: rc.ExternalID,
		Options: rc.Options, PlanID: rc.PlanID, Plugin: rc.Plugin, PlanOptions: rc.PlanOptions, OrderOptions: rc.OrderOptions, PlanName: rc.PlanName, Attributes: rc.Attributes}
}

func (rc *runContext) taskLabel() string {
	if rc.TaskName != "" {
		return rc.TaskName
	}
	return rc.Type
}

// key is the idempotency key of the run's current attempt: the run id, and
// run id + "/" + attempt from the second attempt on.
func (rc *runContext) key() string {
	if rc.Attempt <= 1 {
		return rc.RunID
	}
	return rc.RunID + "/" + strconv.Itoa(rc.Attempt)
}

// loadRuns reads the runs (those whose task still exists) in one query.
func (s *Service) loadRuns(ctx context.Context, runIDs []string) ([]*runContext, error) {
	var rcs []*runContext
	err := s.db.Read.NewRaw(`SELECT r.id AS run_id, r.task_id, r.status, r.attempt, r.max_attempts, r.due_at,
		t.name AS task_name, t.type, t.script, t.enabled, t.notify,
		s.id, s.account_id, s.status AS svc_status, s.label, s.external_id, s.options, s.plan_id, p.plugin, p.plugin_options AS plan_options,
		p.order_options, p.name AS plan_name, s.attributes
		FROM task_runs AS r JOIN scheduled_tasks AS t ON t.id = r.task_id
		JOIN services AS s ON s.id = r.service_id JOIN plans AS p ON p.id = s.plan_id
		WHERE r.id IN (?)`, bun.List(runIDs)).Scan(ctx, &rcs)
	if err != nil && !database.IsNoRows(err) {
		return nil, err
	}
	return rcs, nil
}

// outcome is what one execution of a run ends with: a final status, or
// retrying with the attempt the next try makes.
type outcome struct {
	rc      *runContext
	status  string
	attempt int
	output  string
	msg     string
	// err is the call's error of a run to retry (what River is told).
	err error
}

// errUnknownOutcome marks a call that ended without an answer (a panic in
// the call path): the provisioner may have acted.
var errUnknownOutcome = errors.New("the call ended without an outcome")

// executeRuns executes the given runs: one read of all of them, one write
// marking those to execute running, their provisioner calls concurrently
// and outside any transaction, then one write recording every outcome (and
// the notices, in the same transaction). Runs already finished (a rescued
// or retried chunk) are left alone, so each run executes until it has one
// final outcome. lastTry says River will not try a run again. The error
// is non-nil when some run is to be retried: River then retries the job,
// which executes only those runs again.
func (s *Service) executeRuns(ctx context.Context, runIDs []string, lastTry func(*runContext) bool) error {
	if len(runIDs) == 0 {
		return nil
	}
	rcs, err := s.loadRuns(ctx, runIDs)
	if err != nil {
		return fmt.Errorf("scheduler: loading %d runs: %w", len(runIDs), err)
	}
	var outcomes []outcome
	var exec []*runContext
	for _, rc := range rcs {
		switch {
		case rc.Status == RunSucceeded || rc.Status == RunFailed || rc.Status == RunSkipped:
			// Recorded by an earlier execution of this job.
		case !rc.Enabled:
			outcomes = append(outcomes, outcome{rc: rc, status: RunSkipped, attempt: rc.Attempt, msg: "the task was disabled before it ran"})
		case rc.SvcStatus != "active":
			outcomes = append(outcomes, outcome{rc: rc, status: RunSkipped, attempt: rc.Attempt, msg: "the service is " + rc.SvcStatus})
		default:
			exec = append(exec, rc)
		}
	}
	exec, err = s.startRuns(ctx, exec)
	if err != nil {
		return err
	}

	// The plugin calls: outside any transaction, concurrently (the chunk's
	// job timeout bounds them all), each bounded below the job's timeout
	// so the outcomes can still be recorded.
	results := make([]outcome, len(exec))
	var wg sync.WaitGroup
	for i, rc := range exec {
		wg.Go(func() {
			results[i] = s.callRun(ctx, rc, lastTry(rc))
		})
	}
	wg.Wait()
	outcomes = append(outcomes, results...)

	// Record even when the job's context ended (shutdown): the outcomes
	// are known now and would otherwise be asked for again.
	rec, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelRec()
	if err := s.recordOutcomes(rec, outcomes); err != nil {
		return err
	}
	var retry []error
	for _, o := range outcomes {
		if o.status == RunRetrying {
			retry = append(retry, fmt.Errorf("run %s attempt %d: %w", o.rc.RunID, o.rc.Attempt, o.err))
		}
	}
	if len(retry) > 0 {
		return fmt.Errorf("scheduler: %d of %d runs to retry: %w", len(retry), len(runIDs), errors.Join(retry...))
	}
	return nil
}

// startRuns marks the runs running (keeping the first start of a rescued
// run) and returns those it marked: a run finished meanwhile is not.
func (s *Service) startRuns(ctx context.Context, rcs []*runContext) ([]*runContext, error) {
	if len(rcs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rcs))
	for i, rc := range rcs {
		ids[i] = rc.RunID
	}
	var started []string
	err := s.db.NewRaw("UPDATE task_runs SET status = ?, started_at = COALESCE(started_at, ?) WHERE id IN (?) AND status IN (?) RETURNING id",
		RunRunning, s.now(), bun.List(ids), bun.List([]string{RunWaiting, RunQueued, RunRetrying, RunRunning})).Scan(ctx, &started)
	if err != nil && !database.IsNoRows(err) {
		return nil, fmt.Errorf("scheduler: starting %d runs: %w", len(ids), err)
	}
	set := make(map[string]bool, len(started))
	for _, id := range started {
		set[id] = true
	}
	out := rcs[:0]
	for _, rc := range rcs {
		if set[rc.RunID] {
			out = append(out, rc)
		}
	}
	return out, nil
}

// callRun makes one run's provisioner call and decides its outcome.
func (s *Service) callRun(ctx context.Context, rc *runContext, lastTry bool) (o outcome) {
	callCtx, cancel := context.WithTimeout(ctx, s.opts.JobTimeout*9/10)
	defer cancel()
	var output string
	var callErr error
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic executing a run", "run_id", rc.RunID, "panic", p)
				callErr = fmt.Errorf("panic: %v: %w", p, errUnknownOutcome)
			}
		}()
		output, callErr = s.execute(callCtx, rc)
	}()
	o = outcome{rc: rc, attempt: rc.Attempt, output: output}
	if callErr == nil {
		o.status = RunSucceeded
		return o
	}
	o.msg = callErr.Error()
	switch {
	case permanent(callErr):
		o.status = RunFailed
	case ambiguous(callErr) && !lastTry:
		// The provisioner may have acted: retry with the same key, which
		// it answers with the first outcome if it did.
		o.status, o.err = RunRetrying, callErr
	case rc.Attempt >= rc.MaxAttempts || lastTry:
		o.status = RunFailed
	default:
		// A definite failure: the next attempt is a new action with a new
		// key.
		o.status, o.attempt, o.err = RunRetrying, rc.Attempt+1, callErr
	}
	return o
}

// permanent errors fail the run at once: retrying cannot help.
func permanent(err error) bool {
	switch sdk.KindOf(err) {
	case sdk.InvalidInput, sdk.NotSupported, sdk.NotFound:
		return true
	}
	return false
}

// ambiguous errors leave the outcome unknown: the call may have reached
// the backend.
func ambiguous(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errUnknownOutcome) ||
		sdk.KindOf(err) == sdk.Unavailable
}

// errScriptFailed is a script that ran and exited non-zero.
type errScriptFailed struct{ code int32 }

func (e errScriptFailed) Error() string {
	return fmt.Sprintf("the script exited with status %d", e.code)
}

// execute asks the provisioner to do the run's work.
func (s *Service) execute(ctx context.Context, rc *runContext) (string, error) {
	prov, err := s.provisioner(rc.Plugin)
	if err != nil {
		return "", err
	}
	ref := s.pbRef(rc.service())
	name := fmt.Sprintf("ezscale-%s-%s", rc.Type, rc.DueAt.UTC().Format("20060102T1504Z"))
	switch rc.Type {
	case TypeReboot:
		resp, err := prov.Power(ctx, &pb.PowerRequest{Service: ref, IdempotencyKey: rc.key(), Action: pb.PowerAction_POWER_ACTION_RESTART})
		if err != nil {
			return "", err
		}
		return "restart requested; state " + resp.GetStatus().GetState().String(), nil
	case TypeSnapshot:
		resp, err := prov.Snapshot(ctx, &pb.SnapshotRequest{Service: ref, IdempotencyKey: rc.key(), Name: name})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("snapshot %s %q: %s", resp.GetSnapshot().GetId(), resp.GetSnapshot().GetName(), resp.GetSnapshot().GetStatus()), nil
	case TypeBackup:
		resp, err := prov.Backup(ctx, &pb.BackupRequest{Service: ref, IdempotencyKey: rc.key(), Name: name})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("backup %s %q: %s", resp.GetBackup().GetId(), resp.GetBackup().GetName(), resp.GetBackup().GetStatus()), nil
	case TypeCustomScript:
		timeout := s.opts.JobTimeout * 8 / 10
		resp, err := prov.RunScript(ctx, &pb.RunScriptRequest{Service: ref, IdempotencyKey: rc.key(), Script: rc.Script, Timeout: durationpb.New(timeout)})
		if err != nil {
			return "", err
		}
		if resp.GetExitCode() != 0 {
			return resp.GetOutput(), errScriptFailed{code: resp.GetExitCode()}
		}
		return resp.GetOutput(), nil
	}
	return "", sdk.Errorf(sdk.NotSupported, "unknown task type %q", rc.Type)
}

// recordOutcomes records the outcomes in one statement and, in the same
// transaction, the notices of those final outcomes the tasks ask to be
// told about. A run already final is not changed (an earlier execution
// recorded it), nor is a run to retry that is no longer running; neither
// is notified again.
func (s *Service) recordOutcomes(ctx context.Context, outcomes []outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	cast := "?"
	if s.db.Dialect == database.Postgres {
		cast = "?::timestamptz"
	}
	now := s.now()
	var b strings.Builder
	args := make([]any, 0, 6*len(outcomes)+5)
	args = append(args, RunRetrying, RunRetrying)
	notify := false
	for i, o := range outcomes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, " + cast + ")")
		args = append(args, o.rc.RunID, o.status, o.attempt, bounded(o.output, maxOutputBytes), bounded(o.msg, maxErrorBytes), now)
		notify = notify || o.notify()
	}
	args = append(args, bun.List([]string{RunSucceeded, RunFailed, RunSkipped}), RunRetrying, RunRunning)
	// Columns of v: id, status, attempt, output, error, completed_at. A run
	// to retry keeps its output and has no completion yet.
	q := `UPDATE task_runs SET status = v.column2, attempt = v.column3,
		output = CASE WHEN v.column2 = ? THEN task_runs.output ELSE v.column4 END, error = v.column5,
		completed_at = CASE WHEN v.column2 = ? THEN task_runs.completed_at ELSE v.column6 END
		FROM (VALUES ` + b.String() + `) AS v
		WHERE task_runs.id = v.column1 AND task_runs.status NOT IN (?) AND (v.column2 <> ? OR task_runs.status = ?)
		RETURNING task_runs.id`
	update := func(ctx context.Context, db bun.IDB) (map[string]bool, error) {
		var changed []string
		if err := db.NewRaw(q, args...).Scan(ctx, &changed); err != nil && !database.IsNoRows(err) {
			return nil, fmt.Errorf("scheduler: recording %d runs: %w", len(outcomes), err)
		}
		set := make(map[string]bool, len(changed))
		for _, id := range changed {
			set[id] = true
		}
		return set, nil
	}
	if !notify {
		_, err := update(ctx, s.db.DB)
		return err
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		changed, err := update(ctx, tx)
		if err != nil {
			return err
		}
		for _, o := range outcomes {
			if !o.notify() || !changed[o.rc.RunID] {
				continue
			}
			if err := s.notify.Notify(ctx, tx, o.notice()); err != nil {
				return err
			}
		}
		return nil
	})
}

// notify reports whether the outcome is one the task asks to be told of.
func (o outcome) notify() bool {
	return (o.status == RunSucceeded && o.rc.Notify == NotifyAlways) ||
		(o.status == RunFailed && o.rc.Notify != NotifyNone)
}

// notice is the customer's notice of a final outcome.
func (o outcome) notice() Notice {
	rc := o.rc
	n := Notice{Type: NoticeTaskSucceeded, AccountID: rc.AccountID, Link: "/services/" + rc.ID,
		Data: map[string]any{"task_id": rc.TaskID, "run_id": rc.RunID, "task_name": rc.taskLabel(), "task_type": rc.Type,
			"service_id": rc.ID, "service_name": rc.service().label(), "due_at": rc.DueAt.Format(time.RFC3339), "status": o.status}}
	if o.status == RunFailed {
		n.Type = NoticeTaskFailed
		n.Data["error"], n.Data["attempts"] = bounded(o.msg, 500), rc.Attempt
	}
	return n
}
