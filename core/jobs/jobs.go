package jobs

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// DerivedMaxTimeout is the longest timeout a kind may have when the rescue
// horizon is derived (RescueAfter 0, the default): short enough that the
// work of a crashed replica resumes within five minutes (the horizon, the
// rescuer's 30 s round, a retry's backoff and a leader election).
const DerivedMaxTimeout = 2 * time.Minute

// Options tune the engine (see config.Jobs).
type Options struct {
	Workers           int
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// RescueAfter is the rescue horizon; 0 derives it from the kinds'
	// timeouts (Registry.RescueAfter).
	RescueAfter    time.Duration
	DefaultTimeout time.Duration
	Logger         *slog.Logger
	// ErrorFunc, when set, is told about every failed job attempt (metrics,
	// logs); the job is retried by River's policy regardless.
	ErrorFunc func(ctx context.Context, job *rivertype.JobRow, err error)
	// Time is River's clock (a core built for tests, core/app/testclock);
	// nil is the wall clock and the database's.
	Time rivertype.TimeGenerator
}

// DefaultOptions are the engine's settings when nothing is configured: the
// configuration's defaults (config.Default) are composed from them, and New
// fills unset settings from them. RescueAfter is zero: derived from the
// kinds' timeouts.
func DefaultOptions() Options {
	return Options{
		Workers:           100,
		FetchCooldown:     20 * time.Millisecond,
		FetchPollInterval: 250 * time.Millisecond,
		DefaultTimeout:    DerivedMaxTimeout,
	}
}

// LiveStates are the job states that block a duplicate of a unique job
// (river.UniqueOpts.ByState): a finished job does not, so the same work
// can be queued again later (a staff retry, a customer's "pay now").
var LiveStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// Registry collects workers and periodic jobs before the engine starts.
type Registry struct {
	inserter *Inserter
	workers  *river.Workers
	periodic []*river.PeriodicJob
	// scheduled are the periodic jobs on a fixed schedule, kept for
	// EnqueueDue (test builds).
	scheduled []scheduledJob
	kinds     map[string]time.Duration
	capped    []string
	errs      []error
	// maxTimeout is the rescue horizon less a margin (or DerivedMaxTimeout
	// when the horizon is derived); no kind may exceed it.
	maxTimeout  time.Duration
	rescueAfter time.Duration
}

// NewRegistry returns an empty registry for an engine whose rescue horizon is
// rescueAfter; 0 derives the horizon from the kinds' timeouts, each at most
// DerivedMaxTimeout.
func NewRegistry(rescueAfter time.Duration) *Registry {
	maxTimeout := rescueAfter - rescueAfter/10
	if rescueAfter <= 0 {
		maxTimeout = DerivedMaxTimeout
	}
	return &Registry{
		inserter:    &Inserter{},
		workers:     river.NewWorkers(),
		kinds:       map[string]time.Duration{},
		maxTimeout:  maxTimeout,
		rescueAfter: max(rescueAfter, 0),
	}
}

// RescueAfter is the rescue horizon: the configured one, or, when derived,
// the longest timeout of the registered kinds and of kinds without their
// own (defaultTimeout) plus a margin of a tenth of it, at least 30 s, for
// the job to end and record its outcome.
func (r *Registry) RescueAfter(defaultTimeout time.Duration) time.Duration {
	if r.rescueAfter > 0 {
		return r.rescueAfter
	}
	longest := defaultTimeout
	for _, d := range r.kinds {
		longest = max(longest, d)
	}
	return longest + max(longest/10, 30*time.Second)
}

// Add registers a worker. Its Timeout must be set (non-zero) and below the
// rescue horizon; a zero timeout takes the engine default, checked the same way.
func Add[T river.JobArgs](r *Registry, w river.Worker[T]) {
	var zero T
	kind := zero.Kind()
	timeout := w.Timeout(&river.Job[T]{JobRow: &rivertype.JobRow{Kind: kind}, Args: zero})
	if timeout > r.maxTimeout {
		// A budget longer than the rescue horizon would let River start a
		// second copy of a job that is still running: cap it instead. With
		// the default horizon (1 h) no kind is capped; a short horizon (a
		// test, a small deployment) caps every long budget.
		w = cappedWorker[T]{Worker: w, max: r.maxTimeout}
		r.capped = append(r.capped, kind)
		timeout = r.maxTimeout
	}
	if err := river.AddWorkerSafely(r.workers, w); err != nil {
		r.errs = append(r.errs, fmt.Errorf("jobs: kind %s: %w", kind, err))
		return
	}
	r.kinds[kind] = timeout
}

// cappedWorker is a worker whose timeout is held below the rescue horizon.
type cappedWorker[T river.JobArgs] struct {
	river.Worker[T]
	max time.Duration
}

func (w cappedWorker[T]) Timeout(job *river.Job[T]) time.Duration {
	return min(w.Worker.Timeout(job), w.max)
}

// Capped lists the kinds whose timeout was capped at the rescue horizon.
func (r *Registry) Capped() []string { return r.capped }

// Periodic registers a system job that the elected leader enqueues every
// interval. The job is unique per interval so that a leader change mid-tick
// does not enqueue it twice: once per tick across all replicas.
func (r *Registry) Periodic(id string, interval time.Duration, construct func() river.JobArgs) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(
		river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) {
			return construct(), &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: interval}}
		},
		&river.PeriodicJobOpts{ID: id, RunOnStart: true},
	))
}

// PeriodicSchedule registers a system job on a custom schedule (e.g. a time of
// day), unique per period like Periodic.
func (r *Registry) PeriodicSchedule(id string, schedule river.PeriodicSchedule, uniquePeriod time.Duration, construct func() river.JobArgs) {
	r.periodic = append(r.periodic, river.NewPeriodicJob(
		schedule,
		func() (river.JobArgs, *river.InsertOpts) {
			return construct(), &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: uniquePeriod}}
		},
		&river.PeriodicJobOpts{ID: id},
	))
	r.scheduled = append(r.scheduled, scheduledJob{schedule: schedule, uniquePeriod: uniquePeriod, construct: construct})
}

// scheduledJob is a periodic job registered with PeriodicSchedule.
type scheduledJob struct {
	schedule     river.PeriodicSchedule
	uniquePeriod time.Duration
	construct    func() river.JobArgs
}

// MaxTimeout is the longest timeout a kind may have: the rescue horizon less
// a margin. A kind with a fixed budget takes min(budget, MaxTimeout()), so a
// deployment (or a test) with a short rescue horizon still starts.
func (r *Registry) MaxTimeout() time.Duration { return r.maxTimeout }

// Inserter returns the handle services keep to enqueue jobs; it works once
// New has built the engine from this registry. Services are built before the
// engine (their workers are part of it), hence the indirection.
func (r *Registry) Inserter() *Inserter { return r.inserter }

// Kinds returns the registered kinds and their timeouts (0 = engine default).
func (r *Registry) Kinds() map[string]time.Duration { return r.kinds }

// Engine is the running River client.
type Engine struct {
	*Inserter
	client      *river.Client[*sql.Tx]
	started     bool
	rescueAfter time.Duration
	scheduled   []scheduledJob
}

// Inserter enqueues jobs.
type Inserter struct {
	client *river.Client[*sql.Tx]
}

// New builds the engine over db. It does not start working jobs; Start does.
func New(db *database.DB, reg *Registry, opts Options) (*Engine, error) {
	if err := errors.Join(reg.errs...); err != nil {
		return nil, err
	}
	d := DefaultOptions()
	opts.Workers = cmp.Or(max(opts.Workers, 0), d.Workers)
	opts.FetchCooldown = cmp.Or(max(opts.FetchCooldown, 0), d.FetchCooldown)
	opts.FetchPollInterval = cmp.Or(max(opts.FetchPollInterval, 0), d.FetchPollInterval)
	opts.DefaultTimeout = cmp.Or(opts.DefaultTimeout, min(d.DefaultTimeout, reg.maxTimeout))
	if opts.DefaultTimeout <= 0 || opts.DefaultTimeout > reg.maxTimeout {
		return nil, fmt.Errorf("jobs: default timeout %s must be positive and at most %s (below the rescue horizon)", opts.DefaultTimeout, reg.maxTimeout)
	}
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = reg.RescueAfter(opts.DefaultTimeout)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{
		FetchCooldown:        opts.FetchCooldown,
		FetchPollInterval:    opts.FetchPollInterval,
		JobTimeout:           opts.DefaultTimeout,
		RescueStuckJobsAfter: opts.RescueAfter,
		Logger:               logger,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:              reg.workers,
		PeriodicJobs:         reg.periodic,
		// Poll only: riverdatabasesql and riversqlite have no LISTEN.
		PollOnly: true,
	}
	if opts.ErrorFunc != nil {
		cfg.ErrorHandler = &errorHandler{f: opts.ErrorFunc}
	}
	if opts.Time != nil {
		cfg.Test.Time = opts.Time
	}
	var driver riverdriver.Driver[*sql.Tx]
	switch db.Dialect {
	case database.SQLite:
		driver = riversqlite.New(db.DB.DB)
	case database.Postgres:
		driver = riverdatabasesql.New(db.DB.DB)
	default:
		return nil, fmt.Errorf("jobs: unsupported dialect %s", db.Dialect)
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: creating river client: %w", err)
	}
	reg.inserter.client = client
	return &Engine{Inserter: reg.inserter, client: client, rescueAfter: opts.RescueAfter, scheduled: reg.scheduled}, nil
}

// RescueAfter is the rescue horizon in force: how long a job of a dead
// replica waits before another replica rescues it.
func (e *Engine) RescueAfter() time.Duration { return e.rescueAfter }

// Start begins working jobs and, on the leader, scheduling periodic ones.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: starting: %w", err)
	}
	e.started = true
	return nil
}

// Stop waits for running jobs to finish, up to ctx; then cancels them. A job
// cancelled here is retried later (by this or another replica).
func (e *Engine) Stop(ctx context.Context) error {
	if !e.started {
		return nil
	}
	err := e.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		hard, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = e.client.StopAndCancel(hard)
	}
	return err
}

// InsertTx enqueues a job inside tx: it exists if and only if tx commits.
func (e *Inserter) InsertTx(ctx context.Context, tx bun.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := e.client.InsertTx(ctx, tx.Tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return res, nil
}

// InsertManyTx enqueues several jobs inside tx.
func (e *Inserter) InsertManyTx(ctx context.Context, tx bun.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if _, err := e.client.InsertManyFastTx(ctx, tx.Tx, params); err != nil {
		return fmt.Errorf("jobs: inserting %d jobs: %w", len(params), err)
	}
	return nil
}

// Insert enqueues a job outside any transaction.
func (e *Inserter) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := e.client.Insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return res, nil
}

// Client exposes River for administration (queue stats, retry, cancel).
func (e *Engine) Client() *river.Client[*sql.Tx] { return e.client }

type errorHandler struct {
	f func(ctx context.Context, job *rivertype.JobRow, err error)
}

func (h *errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.f(ctx, job, err)
	return nil
}

func (h *errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.f(ctx, job, fmt.Errorf("panic: %v", panicVal))
	return nil
}
