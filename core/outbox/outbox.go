// Package outbox holds outgoing messages until a notifier delivers them.
//
// A message is written in the same transaction as the event that causes it,
// together with its delivery job, so a committed event always has its message
// and a rolled-back one never does. Delivery runs as a job with retries; the
// message id is the idempotency key handed to the notifier, so a retried
// delivery after a crash is recognisable downstream.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
)

// Statuses of a message.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Message is one outgoing message.
type Message struct {
	bun.BaseModel `bun:"table:outbox_messages"`

	ID        string     `bun:"id,pk" json:"id"`
	UserID    *string    `bun:"user_id" json:"user_id,omitempty"`
	Channel   string     `bun:"channel" json:"channel"`
	Recipient string     `bun:"recipient" json:"recipient"`
	Template  string     `bun:"template" json:"template"`
	Category  string     `bun:"category" json:"category"`
	Subject   string     `bun:"subject" json:"subject"`
	BodyText  string     `bun:"body_text" json:"-"`
	BodyHTML  string     `bun:"body_html" json:"-"`
	Status    string     `bun:"status" json:"status"`
	Attempts  int        `bun:"attempts" json:"attempts"`
	LastError string     `bun:"last_error" json:"last_error,omitempty"`
	CreatedAt time.Time  `bun:"created_at" json:"created_at"`
	SentAt    *time.Time `bun:"sent_at" json:"sent_at,omitempty"`
}

// Sender delivers a message on its channel; the message ID is its
// idempotency key.
//
// What Send returns decides what happens to the message: nil marks it sent;
// an error wrapped with Permanent marks it failed at once (retrying the same
// message cannot succeed); an error matching ErrNoSender leaves it pending
// without counting an attempt (nothing can deliver it now, e.g. its notifier
// is disabled; the sweep tries again later); any other error is retried by
// the delivery job with backoff, and the message is failed after the job's
// last attempt.
type Sender interface {
	Send(ctx context.Context, m *Message) error
}

// ErrNoSender means no notifier is configured (or enabled) for the channel:
// the message stays pending until one is.
var ErrNoSender = errors.New("outbox: no notifier configured for this channel")

// permanentError marks a delivery failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a failure that retrying the same message cannot
// fix (an address the relay refuses, a body the notifier rejects): the
// message is marked failed and its job is not retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// Outbox stores and delivers messages.
type Outbox struct {
	db      *database.DB
	jobs    *jobs.Inserter
	senders atomic.Pointer[map[string]Sender]
}

// New returns an outbox; Register adds its jobs to reg.
func New(db *database.DB, reg *jobs.Registry) *Outbox {
	o := &Outbox{db: db, jobs: reg.Inserter()}
	empty := map[string]Sender{}
	o.senders.Store(&empty)
	jobs.Add(reg, &deliverWorker{o: o})
	jobs.Add(reg, &sweepWorker{o: o})
	reg.Periodic("outbox_sweep", 5*time.Minute, func() river.JobArgs { return sweepArgs{} })
	return o
}

// SetSender routes a channel ("email", "discord") to a notifier.
func (o *Outbox) SetSender(channel string, s Sender) {
	for {
		old := o.senders.Load()
		next := make(map[string]Sender, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
		next[channel] = s
		if o.senders.CompareAndSwap(old, &next) {
			return
		}
	}
}

func (o *Outbox) sender(channel string) Sender { return (*o.senders.Load())[channel] }

// Enqueue stores m and its delivery job in tx.
func (o *Outbox) Enqueue(ctx context.Context, tx bun.Tx, m *Message) error {
	if m.ID == "" {
		m.ID = uuid.Must(uuid.NewV7()).String()
	}
	m.Status = StatusPending
	m.CreatedAt = time.Now().UTC()
	if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
		return fmt.Errorf("outbox: storing message: %w", err)
	}
	if _, err := o.jobs.InsertTx(ctx, tx, deliverArgs{MessageID: m.ID}, nil); err != nil {
		return err
	}
	return nil
}

// Get returns a message by id.
func (o *Outbox) Get(ctx context.Context, id string) (*Message, error) {
	m := &Message{}
	if err := o.db.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("outbox: loading %s: %w", id, err)
	}
	return m, nil
}

// ListForRecipient returns a recipient's messages, newest first (used by
// tests and the admin view).
func (o *Outbox) ListForRecipient(ctx context.Context, recipient string) ([]Message, error) {
	var out []Message
	err := o.db.NewSelect().Model(&out).Where("recipient = ?", recipient).Order("created_at DESC", "id DESC").Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("outbox: listing: %w", err)
	}
	return out, nil
}

type deliverArgs struct {
	MessageID string `json:"message_id"`
}

func (deliverArgs) Kind() string { return "outbox_deliver" }

// InsertOpts makes delivery jobs unique per message while one is live, so the
// sweep never races a retrying job into a double send.
func (deliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		MaxAttempts: 12,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
			rivertype.JobStateRetryable, rivertype.JobStateScheduled,
		}},
	}
}

type deliverWorker struct {
	river.WorkerDefaults[deliverArgs]
	o *Outbox
}

func (w *deliverWorker) Timeout(*river.Job[deliverArgs]) time.Duration { return 2 * time.Minute }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[deliverArgs]) error {
	m, err := w.o.Get(ctx, job.Args.MessageID)
	if database.IsNoRows(errors.Unwrap(err)) {
		return river.JobCancel(fmt.Errorf("message %s no longer exists", job.Args.MessageID))
	}
	if err != nil {
		return err
	}
	if m.Status != StatusPending {
		return nil // already delivered (a duplicate job after a sweep)
	}
	s := w.o.sender(m.Channel)
	if s == nil {
		// Nothing to deliver with yet: the sweep re-enqueues pending
		// messages once a notifier is configured.
		return nil
	}
	// The plugin call happens outside any transaction.
	sendErr := s.Send(ctx, m)
	now := time.Now().UTC()
	q := w.o.db.NewUpdate().Model((*Message)(nil)).Where("id = ?", m.ID).Where("status = ?", StatusPending)
	switch {
	case sendErr == nil:
		q = q.Set("attempts = attempts + 1").Set("status = ?", StatusSent).Set("sent_at = ?", now).Set("last_error = ''")
	case errors.Is(sendErr, ErrNoSender):
		// Not an attempt: nothing could take the message. It stays pending
		// and the sweep re-enqueues it.
		q = q.Set("last_error = ?", truncate(sendErr.Error(), 500))
	case IsPermanent(sendErr) || job.Attempt >= job.MaxAttempts:
		q = q.Set("attempts = attempts + 1").Set("status = ?", StatusFailed).Set("last_error = ?", truncate(sendErr.Error(), 500))
	default:
		q = q.Set("attempts = attempts + 1").Set("last_error = ?", truncate(sendErr.Error(), 500))
	}
	if _, err := q.Exec(ctx); err != nil {
		return fmt.Errorf("outbox: recording delivery of %s: %w", m.ID, err)
	}
	switch {
	case errors.Is(sendErr, ErrNoSender):
		return nil
	case IsPermanent(sendErr):
		return river.JobCancel(fmt.Errorf("outbox: message %s failed permanently: %w", m.ID, sendErr))
	}
	return sendErr
}

type sweepArgs struct{}

func (sweepArgs) Kind() string { return "outbox_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	o *Outbox
}

func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return 5 * time.Minute }

// Work re-enqueues pending messages whose channel now has a sender and whose
// delivery job is gone (delivered nowhere because no notifier was
// configured at the time, or the job was discarded by an operator).
func (w *sweepWorker) Work(ctx context.Context, job *river.Job[sweepArgs]) error {
	var pending []Message
	if err := w.o.db.NewSelect().Model(&pending).Column("id", "channel").
		Where("status = ?", StatusPending).Where("created_at < ?", time.Now().UTC().Add(-time.Minute)).
		Order("created_at ASC").Limit(1000).Scan(ctx); err != nil {
		return fmt.Errorf("outbox: sweep: %w", err)
	}
	var params []river.InsertManyParams
	for _, m := range pending {
		if w.o.sender(m.Channel) == nil {
			continue
		}
		params = append(params, river.InsertManyParams{Args: deliverArgs{MessageID: m.ID}})
	}
	if len(params) == 0 {
		return nil
	}
	return w.o.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return w.o.jobs.InsertManyTx(ctx, tx, params)
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
