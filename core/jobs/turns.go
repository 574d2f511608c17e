package jobs

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RunningAhead reports whether another job of job's kind about the same
// subject (same decides that from the other job's encoded args) is running
// and began its attempt before job's, the lower id first when both began at
// once. Jobs whose work must not overlap (two calls about one server at its
// backend) take turns by it: a job with one running ahead of it waits and
// comes back. The order is total among the running jobs, and a running
// job's start never changes, so of jobs that check it when they start,
// exactly one of those running at a time goes ahead. A job left running by
// a crashed replica stays ahead until River rescues it.
//
// It must be called from a job's Work: it uses the client River puts in
// the work context.
func RunningAhead(ctx context.Context, job *rivertype.JobRow, same func(encodedArgs []byte) bool) (bool, error) {
	client, err := river.ClientFromContextSafely[*sql.Tx](ctx)
	if err != nil {
		return false, fmt.Errorf("jobs: the turn of job %d: %w", job.ID, err)
	}
	params := river.NewJobListParams().Kinds(job.Kind).States(rivertype.JobStateRunning).First(500)
	for {
		page, err := client.JobList(ctx, params)
		if err != nil {
			return false, fmt.Errorf("jobs: the running jobs of kind %s: %w", job.Kind, err)
		}
		for _, other := range page.Jobs {
			if other.ID != job.ID && startedBefore(other, job) && same(other.EncodedArgs) {
				return true, nil
			}
		}
		if len(page.Jobs) < 500 {
			return false, nil
		}
		params = params.After(page.LastCursor)
	}
}

// startedBefore orders running jobs by the start of their attempt, then by
// id.
func startedBefore(a, b *rivertype.JobRow) bool {
	switch {
	case a.AttemptedAt == nil || b.AttemptedAt == nil:
		return a.ID < b.ID
	case a.AttemptedAt.Equal(*b.AttemptedAt):
		return a.ID < b.ID
	}
	return a.AttemptedAt.Before(*b.AttemptedAt)
}
