package community

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
)

func (s *Service) registerJobs(reg *jobs.Registry) {
	jobs.Add(reg, &inviteWorker{s: s})
	jobs.Add(reg, &roleSyncWorker{s: s})
	jobs.Add(reg, &roleSyncAllWorker{s: s})
	if s.opts.Plugin != "" {
		reg.Periodic("notify_discord_roles_all", s.opts.RoleSyncInterval, func() river.JobArgs { return roleSyncAllArgs{} })
	}
}

// inviteArgs creates a new user's signup invite.
type inviteArgs struct {
	UserID    string `json:"user_id"`
	AccountID string `json:"account_id"`
}

func (inviteArgs) Kind() string { return "notify_discord_invite" }

func (inviteArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type inviteWorker struct {
	river.WorkerDefaults[inviteArgs]
	s *Service
}

func (w *inviteWorker) Timeout(*river.Job[inviteArgs]) time.Duration {
	return min(2*time.Minute, w.s.maxTimeout)
}

func (w *inviteWorker) Work(ctx context.Context, job *river.Job[inviteArgs]) error {
	_, err := w.s.createInvite(ctx, job.Args.UserID, job.Args.AccountID, "signup-invite:"+job.Args.UserID)
	return jobError(err)
}

// roleSyncArgs syncs one user's roles (when a request for them is pending:
// see enqueueRoleSyncs); Clear takes every managed role from
// DiscordUserID (after an unlink).
type roleSyncArgs struct {
	UserID        string `json:"user_id"`
	DiscordUserID string `json:"discord_user_id,omitempty"`
	Clear         bool   `json:"clear,omitempty"`
}

func (roleSyncArgs) Kind() string { return "notify_discord_roles" }

// InsertOpts: not unique. A burst of requests for one user makes several
// jobs, of which the first to claim the request syncs and the others find
// nothing to do.
func (roleSyncArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 10} }

type roleSyncWorker struct {
	river.WorkerDefaults[roleSyncArgs]
	s *Service
}

func (w *roleSyncWorker) Timeout(*river.Job[roleSyncArgs]) time.Duration {
	return min(2*time.Minute, w.s.maxTimeout)
}

func (w *roleSyncWorker) Work(ctx context.Context, job *river.Job[roleSyncArgs]) error {
	return jobError(w.s.syncRoles(ctx, job.Args))
}

// roleSyncAllArgs enqueues a sync for every linked user (periodic), so
// that roles follow holdings even when no one asked.
type roleSyncAllArgs struct{}

func (roleSyncAllArgs) Kind() string { return "notify_discord_roles_all" }

type roleSyncAllWorker struct {
	river.WorkerDefaults[roleSyncAllArgs]
	s *Service
}

func (w *roleSyncAllWorker) Timeout(*river.Job[roleSyncAllArgs]) time.Duration {
	return min(10*time.Minute, w.s.maxTimeout)
}

func (w *roleSyncAllWorker) Work(ctx context.Context, _ *river.Job[roleSyncAllArgs]) error {
	after := ""
	for {
		var users []string
		if err := w.s.db.Read.NewSelect().Model((*Link)(nil)).Column("user_id").Where("user_id > ?", after).
			Order("user_id ASC").Limit(1000).Scan(ctx, &users); err != nil {
			return fmt.Errorf("community: listing Discord links: %w", err)
		}
		if len(users) == 0 {
			return nil
		}
		tx, err := w.s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := w.s.enqueueRoleSyncs(ctx, tx, users); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		after = users[len(users)-1]
	}
}

// jobError stops retrying what cannot succeed: the community turned off,
// or a plugin error whose kind a retry will not fix (a refused request, a
// user Discord does not know, an operation the plugin lacks:
// sdk.ErrorKind.Retryable).
func jobError(err error) error {
	if err == nil {
		return nil
	}
	if apperr.CodeOf(err) == apperr.Conflict || !sdk.IsRetryable(err) {
		return river.JobCancel(err)
	}
	return err
}
