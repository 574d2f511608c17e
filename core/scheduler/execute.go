package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// breakerSnooze is how long a chunk whose runs' plugin is down on this
// replica waits before it is taken again (by any replica), without
// spending an attempt.
const breakerSnooze = 30 * time.Second

// outcome is what one execution of a run ends with: a final status, or
// retrying with the attempt the next try makes; and what it means for the
// run's backend action (core/intent).
type outcome struct {
	rc      *runContext
	status  string
	attempt int
	output  string
	msg     string
	// err is the call's error of a run to retry (what River is told).
	err error
	// action is the intent outcome recorded with the run's (State
	// Started: none; the action stays in doubt).
	action intent.State
	detail string
}

// errUnknownOutcome marks a call that ended without an answer (a panic in
// the call path): the provisioner may have acted.
var errUnknownOutcome = errors.New("the call ended without an outcome")

// action is the intent action type of a run's task type.
func (rc *runContext) action() intent.Action {
	switch rc.Type {
	case TypeReboot:
		return intent.PowerRestart
	case TypeSnapshot:
		return intent.Snapshot
	case TypeBackup:
		return intent.Backup
	}
	return intent.RunScript
}

// executeRuns executes the given runs: one read of all of them (and of
// their backend actions), one transaction marking those to execute running
// and recording their actions as started (committed before any call),
// their provisioner calls concurrently and outside any transaction, then
// one transaction recording every run's outcome, its action's outcome and
// the notices, retried with backoff within the job's budget (a failed
// write never makes the calls again).
//
// A run whose action was started by an earlier execution without an
// outcome (its replica died, the outcome write failed, the call ended
// without an answer) is not called again blindly: the action type's
// policy settles it (intent.Reconcile) — the backend shows it happened
// (succeeded), did not (started again with the same key on the job's
// retry), or cannot tell (the run ends unknown and the customer is told).
//
// Runs already finished are left alone, so each run ends with one final
// outcome. lastTry says River will not try a run again. The error is
// non-nil when some run is to be retried (River retries the job, which
// executes only those runs again), or a snooze when a run's plugin is down
// on this replica.
func (s *Service) executeRuns(ctx context.Context, runIDs []string, lastTry func(*runContext) bool) error {
	if len(runIDs) == 0 {
		return nil
	}
	rcs, err := s.loadRuns(ctx, runIDs)
	if err != nil {
		return fmt.Errorf("scheduler: loading %d runs: %w", len(runIDs), err)
	}
	var open []*runContext
	for _, rc := range rcs {
		if !final(rc.Status) {
			open = append(open, rc)
		}
	}
	actions := map[string]*intent.Intent{}
	if !s.noIntents {
		keys := make([]string, len(open))
		for i, rc := range open {
			keys[i] = rc.key()
		}
		if actions, err = s.intents.Load(ctx, keys); err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	var outcomes []outcome
	var exec, doubt []*runContext
	held := 0
	for _, rc := range open {
		in := actions[rc.key()]
		switch {
		case in != nil && in.State == intent.Started:
			// Started without an outcome: settle it, whatever became of
			// the task or the service since.
			doubt = append(doubt, rc)
		case in != nil && in.State != intent.NotDone:
			// The action's outcome was recorded without the run's.
			outcomes = append(outcomes, s.fromRecorded(rc, in, lastTry(rc)))
		case !rc.Enabled:
			outcomes = append(outcomes, outcome{rc: rc, status: RunSkipped, attempt: rc.Attempt, msg: "the task was disabled before it ran"})
		case rc.SvcStatus != "active":
			outcomes = append(outcomes, outcome{rc: rc, status: RunSkipped, attempt: rc.Attempt, msg: "the service is " + rc.SvcStatus})
		case s.pluginDown(rc.Plugin):
			// Its plugin's breaker is open here: leave the run to a
			// replica where it runs (the job snoozes, no attempt spent).
			held++
		default:
			exec = append(exec, rc)
		}
	}
	// What each run's provisioner is told about its service: one read,
	// before anything is marked started.
	if err := s.describe(ctx, append(append([]*runContext(nil), exec...), doubt...)); err != nil {
		return err
	}
	exec, doubt, err = s.startRuns(ctx, exec, doubt)
	if err != nil {
		return err
	}

	// The plugin calls and reconciliations: outside any transaction,
	// concurrently (the chunk's job timeout bounds them all), each bounded
	// below the job's timeout so the outcomes can still be recorded.
	results := make([]outcome, len(exec)+len(doubt))
	var wg sync.WaitGroup
	for i, rc := range exec {
		wg.Go(func() { results[i] = s.callRun(ctx, rc, lastTry(rc)) })
	}
	for i, rc := range doubt {
		wg.Go(func() { results[len(exec)+i] = s.reconcileRun(ctx, rc, actions[rc.key()], lastTry(rc)) })
	}
	wg.Wait()
	outcomes = append(outcomes, results...)

	if err := s.intents.RecordWithRetry(ctx, fmt.Sprintf("%d task runs", len(outcomes)), func(ctx context.Context) error {
		return s.recordOutcomes(ctx, outcomes)
	}); err != nil {
		return err
	}
	var retry []error
	for _, o := range outcomes {
		if o.status == RunRetrying {
			retry = append(retry, fmt.Errorf("run %s attempt %d: %w", o.rc.RunID, o.rc.Attempt, o.err))
		}
	}
	if held > 0 {
		s.log.Warn("runs held: their plugin is down on this replica", "runs", held, "snooze", breakerSnooze)
		return river.JobSnooze(breakerSnooze)
	}
	if len(retry) > 0 {
		return fmt.Errorf("scheduler: %d of %d runs to retry: %w", len(retry), len(runIDs), errors.Join(retry...))
	}
	return nil
}

// pluginDown reports whether the plugin will not run on this replica until
// an admin acts (its breaker is open).
func (s *Service) pluginDown(name string) bool {
	return s.plugins != nil && pluginhost.DownOn(s.plugins, name)
}

// startRuns marks the runs to execute and to settle running (keeping the
// first start of a rescued run) and records the actions of those to
// execute as started, in one transaction committed before any call. It
// returns the runs it started and those in doubt: a run finished meanwhile
// is neither; a run whose action someone else started is in doubt, settled
// on a later execution.
func (s *Service) startRuns(ctx context.Context, exec, doubt []*runContext) ([]*runContext, []*runContext, error) {
	all := append(append([]*runContext(nil), exec...), doubt...)
	if len(all) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(all))
	for i, rc := range all {
		ids[i] = rc.RunID
	}
	var marked []string
	var begun map[string]bool
	start := func(ctx context.Context, tx bun.IDB) error {
		err := tx.NewRaw("UPDATE task_runs SET status = ?, started_at = COALESCE(started_at, ?) WHERE id IN (?) AND status IN (?) RETURNING id",
			RunRunning, s.now(), bun.List(ids), bun.List([]string{RunWaiting, RunQueued, RunRetrying, RunRunning})).Scan(ctx, &marked)
		if err != nil && !database.IsNoRows(err) {
			return fmt.Errorf("scheduler: starting %d runs: %w", len(ids), err)
		}
		set := make(map[string]bool, len(marked))
		for _, id := range marked {
			set[id] = true
		}
		if s.noIntents {
			return nil
		}
		var starts []intent.Start
		for _, rc := range exec {
			if set[rc.RunID] {
				starts = append(starts, intent.Start{Key: rc.key(), Action: rc.action(), Plugin: rc.Plugin, ServiceID: rc.ID, Subject: "task_run:" + rc.RunID})
			}
		}
		begun, err = s.intents.Begin(ctx, tx, starts)
		return err
	}
	var err error
	if s.noIntents {
		err = start(ctx, s.db.DB)
	} else {
		err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return start(ctx, tx) })
	}
	if err != nil {
		return nil, nil, err
	}
	set := make(map[string]bool, len(marked))
	for _, id := range marked {
		set[id] = true
	}
	var started, inDoubt []*runContext
	for _, rc := range exec {
		switch {
		case !set[rc.RunID]:
		case s.noIntents || begun[rc.key()]:
			started = append(started, rc)
		default:
			inDoubt = append(inDoubt, rc)
		}
	}
	for _, rc := range doubt {
		if set[rc.RunID] {
			inDoubt = append(inDoubt, rc)
		}
	}
	return started, inDoubt, nil
}

// callRun makes one run's provisioner call and decides its outcome.
func (s *Service) callRun(ctx context.Context, rc *runContext, lastTry bool) (o outcome) {
	callCtx, cancel := context.WithTimeout(ctx, s.opts.JobTimeout*9/10)
	defer cancel()
	var output string
	var callErr error
	sent := true
	func() {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic executing a run", "run_id", rc.RunID, "panic", p)
				callErr = fmt.Errorf("panic: %v: %w", p, errUnknownOutcome)
			}
		}()
		output, sent, callErr = s.execute(callCtx, rc)
	}()
	o = outcome{rc: rc, attempt: rc.Attempt, output: output}
	if callErr == nil {
		o.status, o.action, o.detail = RunSucceeded, intent.Succeeded, "succeeded"
		return o
	}
	o.msg = callErr.Error()
	state := intent.Classify(callErr)
	var script errScriptFailed
	switch {
	case !sent:
		state = intent.NotDone
	case errors.As(callErr, &script):
		// The script ran and said no.
		state = intent.Failed
	}
	o.action, o.detail = state, o.msg
	switch state {
	case intent.Failed:
		switch {
		case !sdk.IsRetryable(callErr) || rc.Attempt >= rc.MaxAttempts || lastTry:
			// Retrying cannot help (sdk.ErrorKind.Retryable), or the
			// attempts are spent.
			o.status = RunFailed
		default:
			// A definite failure: the next attempt is a new action with a
			// new key.
			o.status, o.attempt, o.err = RunRetrying, rc.Attempt+1, callErr
		}
	case intent.NotDone:
		// Nothing happened: the same key is started again on the retry.
		if lastTry {
			o.status = RunFailed
		} else {
			o.status, o.err = RunRetrying, callErr
		}
	default:
		// The call ended without an answer: the provisioner may have acted.
		o = s.inDoubt(o, lastTry)
	}
	return o
}

// inDoubt is the outcome of a call that ended without an answer. An action
// nothing can settle (a script) ends unknown now; one the backend can tell
// about stays started and is settled on the job's retry, once the call is
// surely over (never now: it may still be under way at the backend).
func (s *Service) inDoubt(o outcome, lastTry bool) outcome {
	if s.noIntents {
		// Without intents (the benchmark's baseline): retry with the key.
		if lastTry {
			o.status, o.action = RunFailed, intent.Failed
		} else {
			o.status, o.action, o.err = RunRetrying, intent.Started, errors.New(o.msg)
		}
		return o
	}
	p := intent.PolicyOf(o.rc.action())
	if p.Repeat == intent.Never || lastTry {
		return unknownOutcome(o, "the call ended without an answer ("+o.msg+"); "+p.How)
	}
	o.status, o.action, o.err = RunRetrying, intent.Started, errors.New(o.msg)
	return o
}

// unknownOutcome ends the run unknown: its action may or may not have
// happened and is not repeated.
func unknownOutcome(o outcome, why string) outcome {
	o.status, o.action, o.detail, o.err = RunUnknown, intent.Unknown, why, nil
	o.msg = "outcome unknown, not repeated: " + why
	return o
}

// reconcileRun settles a run whose action was started without an outcome,
// by its action type's policy.
func (s *Service) reconcileRun(ctx context.Context, rc *runContext, in *intent.Intent, lastTry bool) outcome {
	o := outcome{rc: rc, attempt: rc.Attempt}
	if in == nil {
		// Its action was started by a concurrent execution: settle it on
		// a later one.
		o.status, o.action, o.err = RunRetrying, intent.Started, errors.New("the run's action was started elsewhere")
		return o
	}
	callCtx, cancel := context.WithTimeout(ctx, s.opts.JobTimeout*9/10)
	defer cancel()
	prov, err := s.provisioner(rc.Plugin)
	var verdict intent.Verdict
	var detail string
	if err == nil {
		err = rc.refused
	}
	if err == nil {
		verdict, detail, err = intent.Reconcile(callCtx, prov, rc.ref, in)
	}
	if err != nil {
		o.msg = err.Error()
		if lastTry {
			return unknownOutcome(o, "the backend could not be asked whether it acted: "+err.Error())
		}
		o.status, o.action, o.err = RunRetrying, intent.Started, err
		return o
	}
	switch verdict {
	case intent.Done:
		o.status, o.action, o.detail, o.output = RunSucceeded, intent.Succeeded, detail, detail
	case intent.Again:
		// It did not happen: start it again with the same key on the retry.
		o.msg, o.action, o.detail = detail, intent.NotDone, detail
		if lastTry {
			o.status = RunFailed
		} else {
			o.status, o.err = RunRetrying, errors.New(detail)
		}
	default:
		o = unknownOutcome(o, detail)
	}
	return o
}

// fromRecorded is a run's outcome from its action's recorded outcome (the
// run's own write was lost).
func (s *Service) fromRecorded(rc *runContext, in *intent.Intent, lastTry bool) outcome {
	o := outcome{rc: rc, attempt: rc.Attempt, msg: in.Detail, action: in.State}
	switch in.State {
	case intent.Succeeded:
		o.status, o.msg, o.output = RunSucceeded, "", in.Detail
	case intent.Unknown:
		o = unknownOutcome(o, in.Detail)
	default:
		if rc.Attempt >= rc.MaxAttempts || lastTry {
			o.status = RunFailed
		} else {
			o.status, o.attempt, o.err = RunRetrying, rc.Attempt+1, errors.New(in.Detail)
		}
	}
	return o
}

// errScriptFailed is a script that ran and exited non-zero.
type errScriptFailed struct{ code int32 }

func (e errScriptFailed) Error() string {
	return fmt.Sprintf("the script exited with status %d", e.code)
}

// execute asks the provisioner to do the run's work. sent is false when
// no call was made (no plugin to call).
func (s *Service) execute(ctx context.Context, rc *runContext) (output string, sent bool, err error) {
	prov, err := s.provisioner(rc.Plugin)
	if err != nil {
		return "", false, err
	}
	if rc.refused != nil {
		return "", false, rc.refused
	}
	ref := rc.ref
	// Backups and snapshots carry the key in their name: an interrupted
	// one is found by it (intent.Reconcile).
	name := intent.Name(fmt.Sprintf("ezscale-%s-%s", rc.Type, rc.DueAt.UTC().Format("20060102T1504Z")), rc.key())
	switch rc.Type {
	case TypeReboot:
		resp, err := prov.Power(ctx, &pb.PowerRequest{Service: ref, IdempotencyKey: rc.key(), Action: pb.PowerAction_POWER_ACTION_RESTART})
		if err != nil {
			return "", true, err
		}
		return "restart requested; state " + resp.GetStatus().GetState().String(), true, nil
	case TypeSnapshot:
		resp, err := prov.Snapshot(ctx, &pb.SnapshotRequest{Service: ref, IdempotencyKey: rc.key(), Name: name})
		if err != nil {
			return "", true, err
		}
		return fmt.Sprintf("snapshot %s %q: %s", resp.GetSnapshot().GetId(), resp.GetSnapshot().GetName(), resp.GetSnapshot().GetStatus()), true, nil
	case TypeBackup:
		resp, err := prov.Backup(ctx, &pb.BackupRequest{Service: ref, IdempotencyKey: rc.key(), Name: name})
		if err != nil {
			return "", true, err
		}
		return fmt.Sprintf("backup %s %q: %s", resp.GetBackup().GetId(), resp.GetBackup().GetName(), resp.GetBackup().GetStatus()), true, nil
	case TypeCustomScript:
		timeout := s.opts.JobTimeout * 8 / 10
		resp, err := prov.RunScript(ctx, &pb.RunScriptRequest{Service: ref, IdempotencyKey: rc.key(), Script: rc.Script, Timeout: durationpb.New(timeout)})
		if err != nil {
			return "", true, err
		}
		if resp.GetExitCode() != 0 {
			return resp.GetOutput(), true, errScriptFailed{code: resp.GetExitCode()}
		}
		return resp.GetOutput(), true, nil
	}
	// Nothing was sent, but no retry can help: a definite failure.
	return "", true, sdk.Errorf(sdk.NotSupported, "unknown task type %q", rc.Type)
}

// recordOutcomes records the outcomes in one statement and, in the same
// transaction, their actions' outcomes and the notices of those final
// outcomes the tasks ask to be told about. A run already final is not
// changed (an earlier execution recorded it), nor is a run to retry that
// is no longer running; neither is notified again.
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
	var actions []intent.Outcome
	for i, o := range outcomes {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, " + cast + ")")
		args = append(args, o.rc.RunID, o.status, o.attempt, bounded(o.output, maxOutputBytes), bounded(o.msg, maxErrorBytes), now)
		if o.action != "" && o.action != intent.Started {
			actions = append(actions, intent.Outcome{Key: o.rc.key(), State: o.action, Detail: o.detail})
		}
	}
	args = append(args, bun.List([]string{RunSucceeded, RunFailed, RunSkipped, RunUnknown}), RunRetrying, RunRunning)
	// Columns of v: id, status, attempt, output, error, completed_at. A run
	// to retry keeps its output and has no completion yet.
	q := `UPDATE task_runs SET status = v.column2, attempt = v.column3,
		output = CASE WHEN v.column2 = ? THEN task_runs.output ELSE v.column4 END, error = v.column5,
		completed_at = CASE WHEN v.column2 = ? THEN task_runs.completed_at ELSE v.column6 END
		FROM (VALUES ` + b.String() + `) AS v
		WHERE task_runs.id = v.column1 AND task_runs.status NOT IN (?) AND (v.column2 <> ? OR task_runs.status = ?)
		RETURNING task_runs.id`
	notify := false
	for _, o := range outcomes {
		notify = notify || o.notify()
	}
	record := func(ctx context.Context, tx bun.IDB) error {
		var changed []string
		if err := tx.NewRaw(q, args...).Scan(ctx, &changed); err != nil && !database.IsNoRows(err) {
			return fmt.Errorf("scheduler: recording %d runs: %w", len(outcomes), err)
		}
		if !s.noIntents {
			if err := s.intents.Finish(ctx, tx, actions); err != nil {
				return err
			}
		}
		if !notify {
			return nil
		}
		txx := tx.(bun.Tx)
		set := make(map[string]bool, len(changed))
		for _, id := range changed {
			set[id] = true
		}
		for _, o := range outcomes {
			if !o.notify() || !set[o.rc.RunID] {
				continue
			}
			if err := s.notify.Notify(ctx, txx, o.notice()); err != nil {
				return err
			}
		}
		return nil
	}
	if s.noIntents && !notify {
		// The benchmark's baseline: one statement, as before intents.
		return record(ctx, s.db.DB)
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return record(ctx, tx) })
}

// notify reports whether the outcome is one the task asks to be told of:
// success when it says always, failure and an unknown outcome unless it
// says none.
func (o outcome) notify() bool {
	return (o.status == RunSucceeded && o.rc.Notify == NotifyAlways) ||
		((o.status == RunFailed || o.status == RunUnknown) && o.rc.Notify != NotifyNone)
}

// notice is the customer's notice of a final outcome.
func (o outcome) notice() Notice {
	rc := o.rc
	n := Notice{Type: NoticeTaskSucceeded, AccountID: rc.AccountID, Link: "/services/" + rc.ID,
		Data: map[string]any{"task_id": rc.TaskID, "run_id": rc.RunID, "task_name": rc.taskLabel(), "task_type": rc.Type,
			"service_id": rc.ID, "service_name": rc.Name, "due_at": rc.DueAt.Format(time.RFC3339), "status": o.status}}
	switch o.status {
	case RunFailed:
		n.Type = NoticeTaskFailed
		n.Data["error"], n.Data["attempts"] = bounded(o.msg, 500), rc.Attempt
	case RunUnknown:
		n.Type = NoticeTaskUnknown
		n.Data["error"] = bounded(o.detail, 500)
	}
	return n
}
