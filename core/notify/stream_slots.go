package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
)

// Open streams are counted in notification_streams, one row ("slot") per
// stream, so that Options.StreamMaxPerUser holds across replicas: a slot
// is claimed in a transaction that counts the user's live slots first
// (serialised per user: an advisory lock on PostgreSQL, the one writer on
// SQLite), and released when the stream ends. The replica serving a stream
// renews its slots' lease from its poll loop; a replica that dies leaves
// slots that stop counting once their lease ends.
const (
	streamLease = 2 * time.Minute
	streamRenew = streamLease / 4
	// streamLockClass is the first key of the per-user advisory lock
	// (PostgreSQL's two-key form, a namespace of its own).
	streamLockClass = 0x6e746673 // "ntfs"
)

type streamSlot struct {
	bun.BaseModel `bun:"table:notification_streams"`

	ID        string    `bun:"id,pk"`
	UserID    string    `bun:"user_id"`
	Replica   string    `bun:"replica"`
	OpenedAt  time.Time `bun:"opened_at"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// claimStream takes one of the user's stream slots, or refuses with
// RateLimited when the user has StreamMaxPerUser live ones.
func (s *Service) claimStream(ctx context.Context, userID, replica string) (string, error) {
	now := s.now()
	slot := &streamSlot{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Replica: replica, OpenedAt: now, ExpiresAt: now.Add(streamLease)}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if s.db.Dialect == database.Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?, hashtext(?))", streamLockClass, userID); err != nil {
				return fmt.Errorf("notify: locking %s's streams: %w", userID, err)
			}
		}
		if _, err := tx.NewDelete().Model((*streamSlot)(nil)).Where("user_id = ?", userID).Where("expires_at <= ?", now).Exec(ctx); err != nil {
			return fmt.Errorf("notify: dropping expired streams: %w", err)
		}
		n, err := tx.NewSelect().Model((*streamSlot)(nil)).Where("user_id = ?", userID).Count(ctx)
		if err != nil {
			return fmt.Errorf("notify: counting open streams: %w", err)
		}
		if n >= int64(s.opts.StreamMaxPerUser) {
			return &apperr.Error{
				Code:       apperr.RateLimited,
				Message:    fmt.Sprintf("you have %d notification streams open, the most allowed; close one and retry", n),
				RetryAfter: s.opts.StreamHeartbeat,
			}
		}
		if _, err := tx.NewInsert().Model(slot).Exec(ctx); err != nil {
			return fmt.Errorf("notify: opening a stream: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return slot.ID, nil
}

// releaseStream frees a slot. It runs when a stream ends, usually because
// the client went away, so it does not use the request's context.
func (s *Service) releaseStream(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.db.NewDelete().Model((*streamSlot)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		s.opts.Logger.Warn("releasing a notification stream slot", "error", err)
	}
}

// renewStreams extends the lease of every slot this replica serves and
// drops slots whose lease ended (those of replicas that died).
func (s *Service) renewStreams(ctx context.Context, replica string) error {
	now := s.now()
	if _, err := s.db.NewUpdate().Model((*streamSlot)(nil)).Set("expires_at = ?", now.Add(streamLease)).
		Where("replica = ?", replica).Exec(ctx); err != nil {
		return fmt.Errorf("notify: renewing stream slots: %w", err)
	}
	if _, err := s.db.NewDelete().Model((*streamSlot)(nil)).Where("expires_at <= ?", now).Exec(ctx); err != nil {
		return fmt.Errorf("notify: dropping expired stream slots: %w", err)
	}
	return nil
}

// releaseReplica frees every slot of this replica (when it stops).
func (s *Service) releaseReplica(replica string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.db.NewDelete().Model((*streamSlot)(nil)).Where("replica = ?", replica).Exec(ctx); err != nil {
		s.opts.Logger.Warn("releasing this replica's notification stream slots", "error", err)
	}
}
