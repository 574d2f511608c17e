package scheduler

import (
	"context"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
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

	// The run's service, as billing describes it (loadRuns).
	ID        string `bun:"service_id"`
	AccountID string `bun:"-"`
	SvcStatus string `bun:"-"`
	PlanID    string `bun:"-"`
	Plugin    string `bun:"-"`
	Name      string `bun:"-"`

	// ref is the service as its provisioner is told about it (describe),
	// or refused says why it cannot be.
	ref     *pb.ServiceRef `bun:"-"`
	refused error          `bun:"-"`
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

// loadRuns reads the runs (those whose task and service still exist): the
// runs and their tasks in one query, their services from billing in
// another.
func (s *Service) loadRuns(ctx context.Context, runIDs []string) ([]*runContext, error) {
	var rcs []*runContext
	err := s.db.Read.NewRaw(`SELECT r.id AS run_id, r.task_id, r.status, r.attempt, r.max_attempts, r.due_at,
		t.name AS task_name, t.type, t.script, t.enabled, t.notify, r.service_id
		FROM task_runs AS r JOIN scheduled_tasks AS t ON t.id = r.task_id
		WHERE r.id IN (?)`, bun.List(runIDs)).Scan(ctx, &rcs)
	if err != nil && !database.IsNoRows(err) {
		return nil, err
	}
	ids := make([]string, 0, len(rcs))
	for _, rc := range rcs {
		ids = append(ids, rc.ID)
	}
	facts, err := s.services.Facts(ctx, s.db.Read, ids)
	if err != nil {
		return nil, err
	}
	kept := rcs[:0]
	for _, rc := range rcs {
		f, ok := facts[rc.ID]
		if !ok {
			continue
		}
		rc.AccountID, rc.SvcStatus, rc.PlanID, rc.Plugin, rc.Name = f.AccountID, f.Status, f.PlanID, f.Plugin, f.Name
		kept = append(kept, rc)
	}
	return kept, nil
}
