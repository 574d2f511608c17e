package jobs

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
)

// KindStats is the queue's state for one job kind.
type KindStats struct {
	Kind      string `json:"kind"`
	Pending   int64  `json:"pending"`   // due and waiting for a worker (available)
	Scheduled int64  `json:"scheduled"` // waiting for their time
	Running   int64  `json:"running"`
	Retrying  int64  `json:"retrying"` // failed at least once, will run again
	Failed    int64  `json:"failed"`   // gave up (discarded) — needs an operator
	Cancelled int64  `json:"cancelled"`
	// OldestPendingSeconds is how long the oldest due job has waited: the
	// first sign of a queue that is not keeping up.
	OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
}

// Stats summarises the queue per kind (finished jobs are not counted).
func Stats(ctx context.Context, db *database.DB, now time.Time) ([]KindStats, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT kind, state, count(*), min(scheduled_at)
		FROM river_job WHERE state <> 'completed' GROUP BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("jobs: queue stats: %w", err)
	}
	defer rows.Close()
	byKind := map[string]*KindStats{}
	for rows.Next() {
		var kind, state string
		var n int64
		var oldest any
		if err := rows.Scan(&kind, &state, &n, &oldest); err != nil {
			return nil, fmt.Errorf("jobs: queue stats: %w", err)
		}
		ks := byKind[kind]
		if ks == nil {
			ks = &KindStats{Kind: kind}
			byKind[kind] = ks
		}
		switch rivertype.JobState(state) {
		case rivertype.JobStateAvailable:
			ks.Pending += n
			if t, ok := asTime(oldest); ok && now.After(t) {
				ks.OldestPendingSeconds = now.Sub(t).Seconds()
			}
		case rivertype.JobStateScheduled, rivertype.JobStatePending:
			ks.Scheduled += n
		case rivertype.JobStateRunning:
			ks.Running += n
		case rivertype.JobStateRetryable:
			ks.Retrying += n
		case rivertype.JobStateDiscarded:
			ks.Failed += n
		case rivertype.JobStateCancelled:
			ks.Cancelled += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: queue stats: %w", err)
	}
	out := make([]KindStats, 0, len(byKind))
	for _, ks := range byKind {
		out = append(out, *ks)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out, nil
}

// asTime reads a timestamp column: time.Time from PostgreSQL, text from
// River's SQLite schema.
func asTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case []byte:
		return parseSQLiteTime(string(x))
	case string:
		return parseSQLiteTime(x)
	}
	return time.Time{}, false
}

func parseSQLiteTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// FailedJob is a job that gave up or is retrying, for the admin view.
type FailedJob struct {
	ID          int64     `json:"id"`
	Kind        string    `json:"kind"`
	State       string    `json:"state"`
	Attempt     int       `json:"attempt"`
	MaxAttempts int       `json:"max_attempts"`
	LastError   string    `json:"last_error"`
	CreatedAt   time.Time `json:"created_at"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// Failed lists discarded and retrying jobs, newest first, optionally of one
// kind, after the cursor id.
func (e *Engine) Failed(ctx context.Context, kind string, beforeID int64, limit int) ([]FailedJob, error) {
	params := river.NewJobListParams().States(rivertype.JobStateDiscarded, rivertype.JobStateRetryable).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc).First(limit)
	if kind != "" {
		params = params.Kinds(kind)
	}
	if beforeID > 0 {
		params = params.Where("id < @before", river.NamedArgs{"before": beforeID})
	}
	res, err := e.client.JobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("jobs: listing failed jobs: %w", err)
	}
	out := make([]FailedJob, 0, len(res.Jobs))
	for _, j := range res.Jobs {
		fj := FailedJob{ID: j.ID, Kind: j.Kind, State: string(j.State), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt, ScheduledAt: j.ScheduledAt}
		if n := len(j.Errors); n > 0 {
			fj.LastError = j.Errors[n-1].Error
		}
		out = append(out, fj)
	}
	return out, nil
}

// Retry makes a failed or retrying job run again now. Errors: NotFound,
// Conflict (the job is not failed).
func (e *Engine) Retry(ctx context.Context, id int64) error {
	j, err := e.client.JobGet(ctx, id)
	if err != nil {
		return apperr.NotFoundf("no such job")
	}
	if j.State != rivertype.JobStateDiscarded && j.State != rivertype.JobStateRetryable && j.State != rivertype.JobStateCancelled {
		return apperr.New(apperr.Conflict, "job %d is %s; only failed, retrying or cancelled jobs can be retried", id, j.State)
	}
	if _, err := e.client.JobRetry(ctx, id); err != nil {
		return fmt.Errorf("jobs: retrying %d: %w", id, err)
	}
	return nil
}

// Cancel stops a job that has not completed. Errors: NotFound, Conflict.
func (e *Engine) Cancel(ctx context.Context, id int64) error {
	j, err := e.client.JobGet(ctx, id)
	if err != nil {
		return apperr.NotFoundf("no such job")
	}
	if j.State == rivertype.JobStateCompleted || j.State == rivertype.JobStateCancelled {
		return apperr.New(apperr.Conflict, "job %d is already %s", id, j.State)
	}
	if _, err := e.client.JobCancel(ctx, id); err != nil {
		return fmt.Errorf("jobs: cancelling %d: %w", id, err)
	}
	return nil
}
