package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// dueArgs is the periodic job that turns due tasks into runs.
type dueArgs struct{}

// KindDueTasks is the kind of the periodic due-tasks job.
const KindDueTasks = "scheduler_due_tasks"

func (dueArgs) Kind() string { return KindDueTasks }

// everyMinute fires at the start of each minute, so a task due at 02:00
// starts at 02:00 and not up to a minute later.
type everyMinute struct{}

func (everyMinute) Next(t time.Time) time.Time { return t.Truncate(time.Minute).Add(time.Minute) }

type dueWorker struct {
	river.WorkerDefaults[dueArgs]
	s *Service
}

func (w *dueWorker) Timeout(*river.Job[dueArgs]) time.Duration { return w.s.opts.JobTimeout }

func (w *dueWorker) Work(ctx context.Context, job *river.Job[dueArgs]) error {
	if err := w.s.recordTick(ctx, KindDueTasks, job.ScheduledAt.Truncate(time.Minute)); err != nil {
		return err
	}
	_, err := w.s.DueTasks(ctx)
	return err
}

// dueRow is what the due-tasks job reads of a task.
type dueRow struct {
	ID         string    `bun:"id"`
	AccountID  string    `bun:"account_id"`
	ServiceID  string    `bun:"service_id"`
	Type       string    `bun:"type"`
	Cron       string    `bun:"cron"`
	TimeZone   string    `bun:"time_zone"`
	MaxRetries int       `bun:"max_retries"`
	NextRunAt  time.Time `bun:"next_run_at"`
}

// DueTasks turns every task due by now, or within Options.Lookahead of
// now, into a run and its job, batch by batch (each batch one
// transaction), and returns how many runs it made. It is what the periodic
// due-tasks job does; it is safe to run concurrently with itself (the
// unique (task_id, due_at) index decides).
//
// A run made ahead of its due time has its job ready at the due time, so
// the queue holds the work of a busy minute before the minute starts
// rather than filling up during it.
func (s *Service) DueTasks(ctx context.Context) (int, error) {
	total := 0
	for {
		// A task made ahead may be due again within the horizon (every
		// minute): the passes go on until no task is left before it.
		n, more, err := s.dueBatch(ctx, s.now())
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// dueBatch handles up to BatchSize tasks due by now + Lookahead in one
// transaction: insert their runs (a due time already turned into a run
// inserts nothing), the runs' jobs, and each task's next due time: the
// first after the run's start, and never before now, so that a task that
// missed several due times during downtime runs once.
func (s *Service) dueBatch(ctx context.Context, now time.Time) (made int, more bool, err error) {
	horizon := now.Add(s.opts.Lookahead)
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var rows []dueRow
		q := "SELECT id, account_id, service_id, type, cron, time_zone, max_retries, next_run_at FROM scheduled_tasks WHERE next_run_at IS NOT NULL AND next_run_at <= ? ORDER BY next_run_at LIMIT ?"
		if s.db.Dialect == database.Postgres {
			// Another due-tasks job (a retry overlapping a slow one) takes
			// other tasks instead of waiting for these.
			q += " FOR UPDATE SKIP LOCKED"
		}
		if err := tx.NewRaw(q, horizon, s.opts.BatchSize).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("scheduler: selecting due tasks: %w", err)
		}
		more = len(rows) > 0
		if len(rows) == 0 {
			return nil
		}
		accountSet := map[string]bool{}
		var accounts []string
		for _, r := range rows {
			if !accountSet[r.AccountID] {
				accountSet[r.AccountID] = true
				accounts = append(accounts, r.AccountID)
			}
		}
		windows, err := s.accountWindows(ctx, tx, accounts)
		if err != nil {
			return err
		}
		runs := make([]*Run, 0, len(rows))
		next := make(map[string]*time.Time, len(rows))
		for _, r := range rows {
			c, err := s.cron(r.Cron, r.TimeZone)
			if err != nil {
				// Validated when saved; unusable now (a zone removed from
				// tzdata): park the task rather than fail every tick.
				s.log.Error("disabling a task whose schedule no longer parses", "task_id", r.ID, "error", err)
				next[r.ID] = nil
				continue
			}
			due := r.NextRunAt.UTC()
			// It may start at its due time (now for an overdue run), or
			// at the next opening of a window when that is later.
			base := later(due, now)
			start := earliest(windows[r.AccountID], due, now)
			status := RunQueued
			if start.After(base) {
				status = RunWaiting
			}
			n := c.Next(start)
			next[r.ID] = &n
			runs = append(runs, &Run{
				ID: newID(), TaskID: r.ID, AccountID: r.AccountID, ServiceID: r.ServiceID, Type: r.Type,
				Status: status, DueAt: due, RunAfter: start, Attempt: 1, MaxAttempts: r.MaxRetries + 1,
				CreatedAt: now,
			})
		}
		var inserted []string
		if len(runs) > 0 {
			if err := tx.NewInsert().Model(&runs).On("CONFLICT (task_id, due_at) DO NOTHING").Returning("id").Scan(ctx, &inserted); err != nil {
				return fmt.Errorf("scheduler: inserting runs: %w", err)
			}
		}
		byID := make(map[string]*Run, len(runs))
		for _, r := range runs {
			byID[r.ID] = r
		}
		params := s.runJobs(inserted, byID, now)
		if err := s.jobs.InsertManyTx(ctx, tx, params); err != nil {
			return err
		}
		made = len(inserted)
		if err := s.bulkSetTime(ctx, tx, "scheduled_tasks", "id", "next_run_at", next); err != nil {
			return err
		}
		return s.disableUnschedulable(ctx, tx, next)
	})
	return made, more, err
}

// runJobs makes the jobs of newly inserted runs: one job per chunk of up
// to RunsPerJob runs that may start at the same time (now, a due time
// ahead, or the same window opening), so that River's per-job costs
// (fetch, completion) and the run's reads and writes are paid once per
// chunk rather than once per run. Each run keeps its own idempotency key
// and outcome. The job of a run made ahead of its due time is ready at
// that time (see runArgs.ahead); one waiting for a window is scheduled.
func (s *Service) runJobs(inserted []string, byID map[string]*Run, now time.Time) []river.InsertManyParams {
	// A group is the runs starting at one time in one way.
	type key struct {
		start int64 // UnixNano; 0 = now
		ahead bool  // queued ahead of its due time (not waiting for a window)
	}
	type group struct {
		start       time.Time
		ids         []string
		maxAttempts int
	}
	var order []key
	groups := map[key]*group{}
	var params []river.InsertManyParams
	flush := func(k key, g *group) {
		opts := &river.InsertOpts{MaxAttempts: g.maxAttempts + riverMargin}
		args := runArgs{RunIDs: g.ids, ahead: k.ahead}
		if k.start != 0 {
			opts.ScheduledAt = g.start
		}
		params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
	}
	for _, id := range inserted {
		r := byID[id]
		var k key
		if r.RunAfter.After(now) {
			k = key{start: r.RunAfter.UnixNano(), ahead: r.Status == RunQueued}
		}
		g := groups[k]
		if g == nil {
			g = &group{start: r.RunAfter}
			groups[k] = g
			order = append(order, k)
		}
		g.ids = append(g.ids, id)
		g.maxAttempts = max(g.maxAttempts, r.MaxAttempts)
		if len(g.ids) == s.opts.RunsPerJob {
			flush(k, g)
			groups[k] = &group{start: r.RunAfter}
		}
	}
	for _, k := range order {
		if g := groups[k]; len(g.ids) > 0 {
			flush(k, g)
		}
	}
	return params
}

// bulkSetTime sets col of each row (by key) in one statement.
func (s *Service) bulkSetTime(ctx context.Context, tx bun.Tx, table, key, col string, values map[string]*time.Time) error {
	if len(values) == 0 {
		return nil
	}
	cast := "?"
	if s.db.Dialect == database.Postgres {
		cast = "?::timestamptz"
	}
	var b strings.Builder
	args := make([]any, 0, 2*len(values))
	for id, t := range values {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, " + cast + ")")
		args = append(args, id, t)
	}
	q := "UPDATE " + table + " SET " + col + " = v.column2 FROM (VALUES " + b.String() + ") AS v WHERE " + table + "." + key + " = v.column1"
	if _, err := tx.NewRaw(q, args...).Exec(ctx); err != nil {
		return fmt.Errorf("scheduler: setting %s of %d rows of %s: %w", col, len(values), table, err)
	}
	return nil
}

// disableUnschedulable disables the tasks left without a next run.
func (s *Service) disableUnschedulable(ctx context.Context, tx bun.Tx, next map[string]*time.Time) error {
	var ids []string
	for id, t := range next {
		if t == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.NewUpdate().Model((*Task)(nil)).Set("enabled = ?", false).Where("id IN (?)", bun.List(ids)).Exec(ctx)
	return err
}
