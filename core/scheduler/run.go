package scheduler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// KindTaskRun is the kind of the job that executes one run.
const KindTaskRun = "scheduler_task_run"

// riverMargin is how many River attempts a run's job has beyond the run's
// own: attempts whose outcome is unknown (a replica died, the plugin was
// unreachable) are retried with the same idempotency key and do not count
// as the run's attempts, up to this margin.
const riverMargin = 5

type runArgs struct {
	RunID string `json:"run_id"`
}

func (runArgs) Kind() string { return KindTaskRun }

type runWorker struct {
	river.WorkerDefaults[runArgs]
	s *Service
}

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

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.s.executeRun(ctx, job.Args.RunID, job.Attempt >= job.MaxAttempts)
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

	ID          string `bun:"id"`
	AccountID   string `bun:"account_id"`
	SvcStatus   string `bun:"svc_status"`
	Label       string `bun:"label"`
	ExternalID  string `bun:"external_id"`
	Options     string `bun:"options"`
	PlanID      string `bun:"plan_id"`
	Plugin      string `bun:"plugin"`
	PlanOptions string `bun:"plan_options"`
}

func (rc *runContext) service() *serviceRef {
	return &serviceRef{ID: rc.ID, AccountID: rc.AccountID, Status: rc.SvcStatus, Label: rc.Label, ExternalID: rc.ExternalID,
		Options: rc.Options, PlanID: rc.PlanID, Plugin: rc.Plugin, PlanOptions: rc.PlanOptions}
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

func (s *Service) loadRun(ctx context.Context, runID string) (*runContext, error) {
	rc := &runContext{}
	err := s.db.Read.NewRaw(`SELECT r.id AS run_id, r.task_id, r.status, r.attempt, r.max_attempts, r.due_at,
		t.name AS task_name, t.type, t.script, t.enabled, t.notify,
		s.id, s.account_id, s.status AS svc_status, s.label, s.external_id, s.options, s.plan_id, p.plugin, p.plugin_options AS plan_options
		FROM task_runs AS r JOIN scheduled_tasks AS t ON t.id = r.task_id
		JOIN services AS s ON s.id = r.service_id JOIN plans AS p ON p.id = s.plan_id
		WHERE r.id = ?`, runID).Scan(ctx, rc)
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// executeRun executes one run. lastTry says River will not try again.
func (s *Service) executeRun(ctx context.Context, runID string, lastTry bool) error {
	rc, err := s.loadRun(ctx, runID)
	if database.IsNoRows(err) {
		return nil // the task was deleted
	}
	if err != nil {
		return fmt.Errorf("scheduler: loading run %s: %w", runID, err)
	}
	switch rc.Status {
	case RunSucceeded, RunFailed, RunSkipped:
		return nil // recorded by an earlier execution of this job
	}
	if !rc.Enabled {
		return s.finishRun(ctx, rc, RunSkipped, "", "the task was disabled before it ran")
	}
	if rc.SvcStatus != "active" {
		return s.finishRun(ctx, rc, RunSkipped, "", "the service is "+rc.SvcStatus)
	}
	res, err := s.db.NewUpdate().Model((*Run)(nil)).
		Set("status = ?", RunRunning).Set("started_at = COALESCE(started_at, ?)", s.now()).
		Where("id = ?", rc.RunID).Where("status IN (?)", bun.List([]string{RunWaiting, RunQueued, RunRetrying, RunRunning})).Exec(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: starting run %s: %w", rc.RunID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}

	// The plugin call: outside any transaction, bounded below the job's
	// timeout so the outcome can still be recorded.
	callCtx, cancel := context.WithTimeout(ctx, s.opts.JobTimeout*9/10)
	output, callErr := s.execute(callCtx, rc)
	cancel()

	// Record even when the job's context ended (shutdown): the outcome is
	// known now and would otherwise be asked for again.
	rec, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelRec()
	if callErr == nil {
		return s.finishRun(rec, rc, RunSucceeded, output, "")
	}
	msg := callErr.Error()
	switch {
	case permanent(callErr):
		return s.finishRun(rec, rc, RunFailed, output, msg)
	case ambiguous(callErr) && !lastTry:
		// The provisioner may have acted: retry with the same key, which
		// it answers with the first outcome if it did.
		if err := s.retryRun(rec, rc, rc.Attempt, msg); err != nil {
			return err
		}
		return fmt.Errorf("scheduler: run %s: %w", rc.RunID, callErr)
	case rc.Attempt >= rc.MaxAttempts || lastTry:
		return s.finishRun(rec, rc, RunFailed, output, msg)
	}
	// A definite failure: the next attempt is a new action with a new key.
	if err := s.retryRun(rec, rc, rc.Attempt+1, msg); err != nil {
		return err
	}
	return fmt.Errorf("scheduler: run %s attempt %d: %w", rc.RunID, rc.Attempt, callErr)
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
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || sdk.KindOf(err) == sdk.Unavailable
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
	ref := rc.service().pbRef()
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

// retryRun records a failed attempt; attempt is the next one's number.
func (s *Service) retryRun(ctx context.Context, rc *runContext, attempt int, msg string) error {
	_, err := s.db.NewUpdate().Model((*Run)(nil)).
		Set("status = ?", RunRetrying).Set("attempt = ?", attempt).Set("error = ?", bounded(msg, maxErrorBytes)).
		Where("id = ?", rc.RunID).Where("status = ?", RunRunning).Exec(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: recording attempt %d of run %s: %w", rc.Attempt, rc.RunID, err)
	}
	return nil
}

// finishRun records the run's final outcome and, when the task asks for
// it, the notice, in one transaction.
func (s *Service) finishRun(ctx context.Context, rc *runContext, status, output, msg string) error {
	notify := (status == RunSucceeded && rc.Notify == NotifyAlways) ||
		(status == RunFailed && rc.Notify != NotifyNone)
	update := func(ctx context.Context, db bun.IDB) (bool, error) {
		res, err := db.NewUpdate().Model((*Run)(nil)).
			Set("status = ?", status).Set("completed_at = ?", s.now()).
			Set("output = ?", bounded(output, maxOutputBytes)).Set("error = ?", bounded(msg, maxErrorBytes)).
			Where("id = ?", rc.RunID).Where("status NOT IN (?)", bun.List([]string{RunSucceeded, RunFailed, RunSkipped})).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("scheduler: recording run %s: %w", rc.RunID, err)
		}
		n, _ := res.RowsAffected()
		return n > 0, nil
	}
	if !notify {
		_, err := update(ctx, s.db.DB)
		return err
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		changed, err := update(ctx, tx)
		if err != nil || !changed {
			return err
		}
		n := Notice{Type: NoticeTaskSucceeded, AccountID: rc.AccountID, Link: "/services/" + rc.ID,
			Data: map[string]any{"task_id": rc.TaskID, "run_id": rc.RunID, "task_name": rc.taskLabel(), "task_type": rc.Type,
				"service_id": rc.ID, "service_name": rc.service().label(), "due_at": rc.DueAt.Format(time.RFC3339), "status": status}}
		if status == RunFailed {
			n.Type = NoticeTaskFailed
			n.Data["error"], n.Data["attempts"] = bounded(msg, 500), rc.Attempt
		}
		return s.notify.Notify(ctx, tx, n)
	})
}
