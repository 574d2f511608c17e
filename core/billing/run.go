package billing

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
)

// The billing run is a chain of isolated steps, each its own job kind and
// each idempotent over the database's current state: running a step twice,
// or two runs at once, does no harm (the unique invoice index and
// conditional updates see to it). Each step commits in batches, so a
// failure loses at most the batch it happened in; the chain moves on after
// a step's first attempt whatever its outcome, and a failed step retries on
// its own, so one failure never holds back or rolls back the others.
const (
	StepGenerate    = "generate"     // renewal invoices due within invoice_days_before
	StepApplyCredit = "apply_credit" // credit to open invoices, oldest first
	StepAutoTopUp   = "auto_topup"   // daily check of auto top-up thresholds
	StepCharge      = "charge"       // off-session charges of due invoices
	StepRemind      = "remind"       // issue notices and overdue reminders
	StepSuspend     = "suspend"      // services overdue past suspend_after_days
	StepTerminate   = "terminate"    // overdue past terminate_after_days; end-of-term cancellations
)

// Steps lists the chain in order.
var Steps = []string{StepGenerate, StepApplyCredit, StepAutoTopUp, StepCharge, StepRemind, StepSuspend, StepTerminate}

// Run is one billing run.
type Run struct {
	bun.BaseModel `bun:"table:billing_runs"`

	ID          string    `bun:"id,pk"`
	AsOf        time.Time `bun:"as_of"`
	TriggeredBy string    `bun:"triggered_by"`
	CreatedAt   time.Time `bun:"created_at"`

	Steps []RunStep `bun:"-"`
}

// RunStep is the outcome of one step of a run.
type RunStep struct {
	bun.BaseModel `bun:"table:billing_run_steps"`

	RunID      string     `bun:"run_id,pk"`
	Step       string     `bun:"step,pk"`
	Status     string     `bun:"status"`
	Attempts   int        `bun:"attempts"`
	Processed  int64      `bun:"processed"`
	Error      string     `bun:"error"`
	StartedAt  time.Time  `bun:"started_at"`
	FinishedAt *time.Time `bun:"finished_at"`
}

// runArgs starts a run: it records the run and enqueues its first step.
type runArgs struct {
	RunID string    `json:"run_id"`
	AsOf  time.Time `json:"as_of"`
	// Steps, when set, runs only these steps (each once, no chain).
	Steps []string `json:"steps,omitempty"`
}

func (runArgs) Kind() string { return "billing_run" }

func (runArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type runWorker struct {
	river.WorkerDefaults[runArgs]
	b *Billing
}

func (w *runWorker) Timeout(*river.Job[runArgs]) time.Duration { return w.b.timeout(time.Minute) }

func (w *runWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	b := w.b
	a := job.Args
	if a.AsOf.IsZero() {
		a.AsOf = b.now()
	}
	if a.RunID == "" {
		a.RunID = "daily-" + a.AsOf.UTC().Format("2006-01-02")
	}
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		res, err := t.NewInsert().Model(&Run{ID: a.RunID, AsOf: a.AsOf.UTC(), TriggeredBy: "schedule", CreatedAt: b.now()}).
			On("CONFLICT (id) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("billing: recording run: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 && len(a.Steps) == 0 && strings.HasPrefix(a.RunID, "daily-") {
			return nil // today's run exists: another replica started it
		}
		if len(a.Steps) > 0 {
			for _, s := range a.Steps {
				t.Enqueue(stepArgsFor(s, a.RunID, a.AsOf, false))
			}
			return nil
		}
		t.Enqueue(stepArgsFor(Steps[0], a.RunID, a.AsOf, true))
		return nil
	})
}

// RunInput triggers a billing run by hand.
type RunInput struct {
	// AsOf is the run's "today" (default now); billing as of a past or
	// future date is for tests and catching up.
	AsOf time.Time `json:"as_of"`
	// Steps limits the run to these steps; empty = the whole chain.
	Steps []string `json:"steps"`
	// By says who triggered it ("admin", "cli").
	By string `json:"-"`
}

// TriggerRun records a run and queues it. Staff and the CLI call it; the
// daily schedule runs the same jobs. Errors: Invalid.
func (b *Billing) TriggerRun(ctx context.Context, in RunInput) (*Run, error) {
	for i, s := range in.Steps {
		if stepIndex(s) < 0 {
			return nil, apperr.Field("steps["+strconv.Itoa(i)+"]", "must be one of %s", strings.Join(Steps, ", "))
		}
	}
	if in.AsOf.IsZero() {
		in.AsOf = b.now()
	}
	if in.By == "" {
		in.By = "admin"
	}
	r := &Run{ID: newID(), AsOf: in.AsOf.UTC(), TriggeredBy: in.By, CreatedAt: b.now()}
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := t.NewInsert().Model(r).Exec(ctx); err != nil {
			return fmt.Errorf("billing: recording run: %w", err)
		}
		t.Enqueue(runArgs{RunID: r.ID, AsOf: r.AsOf, Steps: in.Steps}, nil)
		t.Audit("billing.run.trigger", "", "billing_run", r.ID, map[string]any{"as_of": r.AsOf, "steps": in.Steps, "by": in.By})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// GetRun returns a run and its steps. Errors: NotFound.
func (b *Billing) GetRun(ctx context.Context, id string) (*Run, error) {
	r := &Run{}
	if err := b.db.Conn(ctx).NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, apperr.NotFoundf("no such billing run")
	}
	if err := b.db.Conn(ctx).NewSelect().Model(&r.Steps).Where("run_id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: loading run steps: %w", err)
	}
	sort.Slice(r.Steps, func(i, j int) bool { return stepIndex(r.Steps[i].Step) < stepIndex(r.Steps[j].Step) })
	return r, nil
}

// Runs lists runs newest first.
func (b *Billing) Runs(ctx context.Context, limit int) ([]Run, error) {
	var out []Run
	if err := b.db.Conn(ctx).NewSelect().Model(&out).Order("created_at DESC", "id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("billing: listing runs: %w", err)
	}
	return out, nil
}

func stepIndex(s string) int {
	for i, x := range Steps {
		if x == s {
			return i
		}
	}
	return -1
}

// RunStepNow runs one step synchronously as of asOf and returns how many
// rows it handled: the same code the step jobs run (tests, benchmarks and
// `ezscale billing run --sync` use it). Charges and provisioning it causes
// are still jobs.
func (b *Billing) RunStepNow(ctx context.Context, step string, asOf time.Time) (int64, error) {
	asOf = asOf.UTC()
	switch step {
	case StepGenerate:
		return b.generate(ctx, asOf)
	case StepApplyCredit:
		return b.applyCreditStep(ctx, asOf)
	case StepAutoTopUp:
		if b.payer == nil {
			return 0, nil
		}
		return b.payer.AutoTopUpStep(ctx, asOf)
	case StepCharge:
		return b.chargeStep(ctx, asOf)
	case StepRemind:
		return b.remindStep(ctx, asOf)
	case StepSuspend:
		return b.suspendStep(ctx, asOf)
	case StepTerminate:
		return b.terminateStep(ctx, asOf)
	}
	return 0, apperr.Field("step", "must be one of %s", strings.Join(Steps, ", "))
}

// Step kinds are distinct job kinds sharing one args shape, told apart by
// a type parameter.
type stepName interface{ step() string }

type (
	genStep       struct{}
	creditStep    struct{}
	autoTopUpStep struct{}
	chargeStep    struct{}
	remindStep    struct{}
	suspendStep   struct{}
	terminateStep struct{}
)

func (genStep) step() string       { return StepGenerate }
func (creditStep) step() string    { return StepApplyCredit }
func (autoTopUpStep) step() string { return StepAutoTopUp }
func (chargeStep) step() string    { return StepCharge }
func (remindStep) step() string    { return StepRemind }
func (suspendStep) step() string   { return StepSuspend }
func (terminateStep) step() string { return StepTerminate }

// stepArgs runs step S of a run.
type stepArgs[S stepName] struct {
	RunID string    `json:"run_id"`
	AsOf  time.Time `json:"as_of"`
	Chain bool      `json:"chain"`
}

func (stepArgs[S]) Kind() string {
	var s S
	return "billing_step_" + s.step()
}

// InsertOpts: a step runs once per run.
func (stepArgs[S]) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

func stepArgsFor(step, runID string, asOf time.Time, chain bool) (river.JobArgs, *river.InsertOpts) {
	switch step {
	case StepGenerate:
		return stepArgs[genStep]{runID, asOf, chain}, nil
	case StepApplyCredit:
		return stepArgs[creditStep]{runID, asOf, chain}, nil
	case StepAutoTopUp:
		return stepArgs[autoTopUpStep]{runID, asOf, chain}, nil
	case StepCharge:
		return stepArgs[chargeStep]{runID, asOf, chain}, nil
	case StepRemind:
		return stepArgs[remindStep]{runID, asOf, chain}, nil
	case StepSuspend:
		return stepArgs[suspendStep]{runID, asOf, chain}, nil
	}
	return stepArgs[terminateStep]{runID, asOf, chain}, nil
}

type stepWorker[S stepName] struct {
	river.WorkerDefaults[stepArgs[S]]
	b *Billing
}

// Timeout is capped by the engine (2m with the derived rescue horizon); a
// step that runs out of it continues in a follow-up run (see Work).
func (w *stepWorker[S]) Timeout(*river.Job[stepArgs[S]]) time.Duration {
	return w.b.timeout(30 * time.Minute)
}

func (w *stepWorker[S]) NextRetry(job *river.Job[stepArgs[S]]) time.Time {
	return w.b.nextRetry(job.Attempt)
}

// Work runs the step, records its outcome on the run, and (for a chained
// run, after the first attempt whatever its outcome) queues the next step.
func (w *stepWorker[S]) Work(ctx context.Context, job *river.Job[stepArgs[S]]) error {
	b := w.b
	var s S
	name := s.step()
	started := time.Now().UTC() // when it ran, not the billing date
	if _, err := b.db.NewInsert().Model(&RunStep{RunID: job.Args.RunID, Step: name, Status: "running", Attempts: job.Attempt, StartedAt: started}).
		On("CONFLICT (run_id, step) DO UPDATE").Set("status = 'running', attempts = EXCLUDED.attempts, error = ''").Exec(ctx); err != nil {
		return fmt.Errorf("billing: recording step %s: %w", name, err)
	}
	stepCtx, cancel := jobs.Reserve(ctx, 15*time.Second)
	n, stepErr := b.RunStepNow(stepCtx, name, job.Args.AsOf)
	cancel()
	if stepErr != nil && jobs.Cut(ctx, stepCtx) {
		// The budget ran out with work left (the timeout is kept short so
		// a crashed replica's work is rescued soon): record the progress
		// and continue in a follow-up run of this job. The step is
		// idempotent, so it picks up what is still to do.
		if _, err := b.db.NewUpdate().Model((*RunStep)(nil)).Set("processed = processed + ?", n).
			Where("run_id = ?", job.Args.RunID).Where("step = ?", name).Exec(ctx); err != nil {
			return fmt.Errorf("billing: recording step %s: %w", name, err)
		}
		return jobs.Continue()
	}
	status, msg := "succeeded", ""
	if stepErr != nil {
		status, msg = "failed", database.Text(stepErr.Error(), 1000)
	}
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if _, err := t.NewUpdate().Model((*RunStep)(nil)).Set("status = ?", status).Set("processed = processed + ?", n).
			Set("error = ?", msg).Set("finished_at = ?", time.Now().UTC()).
			Where("run_id = ?", job.Args.RunID).Where("step = ?", name).Exec(ctx); err != nil {
			return fmt.Errorf("billing: recording step %s: %w", name, err)
		}
		if job.Args.Chain && (stepErr == nil || job.Attempt == 1) {
			if i := stepIndex(name); i+1 < len(Steps) {
				t.Enqueue(stepArgsFor(Steps[i+1], job.Args.RunID, job.Args.AsOf, true))
			}
		}
		if stepErr != nil {
			t.Audit("billing.run.step_failed", "", "billing_run", job.Args.RunID, map[string]any{"step": name, "attempt": job.Attempt, "error": msg})
		}
		return nil
	})
	if err != nil {
		return err
	}
	return stepErr
}

// dailyAt is the periodic schedule of the daily run: every day at HH:MM
// UTC.
type dailyAt struct{ hour, minute int }

func parseRunAt(s string) dailyAt {
	h, m, _ := strings.Cut(s, ":")
	hour, _ := strconv.Atoi(h)
	minute, _ := strconv.Atoi(m)
	return dailyAt{hour, minute}
}

func (d dailyAt) Next(now time.Time) time.Time {
	now = now.UTC()
	next := time.Date(now.Year(), now.Month(), now.Day(), d.hour, d.minute, 0, 0, time.UTC)
	if !next.After(now) {
		next = next.AddDate(0, 0, 1)
	}
	return next
}

// registerJobs adds billing's workers and the daily run. The jobs it queues
// on services at their backend (ProvisionJob, ReadyJob, SyncJob) are
// core/provisioning's to work.
func (b *Billing) registerJobs(reg *jobs.Registry) {
	jobs.Add(reg, &runWorker{b: b})
	jobs.Add(reg, &stepWorker[genStep]{b: b})
	jobs.Add(reg, &stepWorker[creditStep]{b: b})
	jobs.Add(reg, &stepWorker[autoTopUpStep]{b: b})
	jobs.Add(reg, &stepWorker[chargeStep]{b: b})
	jobs.Add(reg, &stepWorker[remindStep]{b: b})
	jobs.Add(reg, &stepWorker[suspendStep]{b: b})
	jobs.Add(reg, &stepWorker[terminateStep]{b: b})
	// Unique per day across replicas (River's ByPeriod), and the run row's
	// id "daily-<date>" makes a second start a no-op besides.
	reg.PeriodicSchedule("billing_daily_run", parseRunAt(b.opts.RunAt), 24*time.Hour, func() river.JobArgs {
		now := b.now()
		return runArgs{RunID: "daily-" + now.Format("2006-01-02"), AsOf: now}
	})
}
