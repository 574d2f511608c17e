// Package outbox holds outgoing messages until a notifier delivers them.
//
// A message is written in the same transaction as the event that causes it,
// together with its delivery job, so a committed event always has its message
// and a rolled-back one never does. Delivery runs as a job with retries; the
// message id is the idempotency key handed to the notifier, so a retried
// delivery after a crash is recognisable downstream.
//
// Before each delivery attempt an optional Prepare hook (set by the
// notification service) may add headers, finish the body, or suppress the
// message (an unsubscribe that happened after it was queued): a suppressed
// message is marked failed with last_error "suppressed: …" and never sent.
// A plugin error whose kind is not retryable (invalid_input, not_found,
// not_supported: sdk.ErrorKind.Retryable) fails the message at once; other
// errors are retried, no sooner than the plugin's retry-after hint.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
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

	ID        string  `bun:"id,pk" json:"id"`
	UserID    *string `bun:"user_id" json:"user_id,omitempty"`
	Channel   string  `bun:"channel" json:"channel"`
	Recipient string  `bun:"recipient" json:"recipient"`
	Template  string  `bun:"template" json:"template"`
	Category  string  `bun:"category" json:"category"`
	Subject   string  `bun:"subject" json:"subject"`
	BodyText  string  `bun:"body_text" json:"-"`
	BodyHTML  string  `bun:"body_html" json:"-"`
	// BodyID names a body shared with other messages (StoreBody); Get
	// fills BodyText and BodyHTML from it.
	BodyID    *string    `bun:"body_id" json:"-"`
	Status    string     `bun:"status" json:"status"`
	Attempts  int        `bun:"attempts" json:"attempts"`
	LastError string     `bun:"last_error" json:"last_error,omitempty"`
	CreatedAt time.Time  `bun:"created_at" json:"created_at"`
	SentAt    *time.Time `bun:"sent_at" json:"sent_at,omitempty"`
	// LockedUntil is the lease of the attempt in progress.
	LockedUntil *time.Time `bun:"locked_until" json:"-"`

	// Headers are extra headers for the channel (List-Unsubscribe on
	// email). They are not stored: the Prepare hook sets them for each
	// delivery attempt, and Senders pass them on.
	Headers map[string]string `bun:"-" json:"-"`
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

// PrepareFunc runs before every delivery attempt, outside any transaction.
// It may change m (headers, body) or return a non-empty reason to suppress
// it: the message is then failed with last_error "suppressed: reason" and
// not sent. An error retries the attempt later.
type PrepareFunc func(ctx context.Context, m *Message) (suppress string, err error)

// SuppressedPrefix starts last_error of a message the Prepare hook
// suppressed.
const SuppressedPrefix = "suppressed: "

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

// Options are what an outbox delivers with. They are fixed at
// construction, before any delivery job can run.
type Options struct {
	// Senders route each channel ("email", "discord") to what delivers
	// it. A channel without a sender keeps its messages pending (the
	// sweep sends them once a restarted core has one).
	Senders map[string]Sender
	// Prepare runs before every delivery attempt; nil runs nothing.
	Prepare PrepareFunc
	// Backoff is the delay before retry number attempt (1 = the first
	// retry); nil is attempt⁴ seconds, River's own policy. A plugin's
	// retry-after hint is honoured either way. Tests use a short one.
	Backoff func(attempt int) time.Duration
}

// Outbox stores and delivers messages.
type Outbox struct {
	db      *database.DB
	jobs    *jobs.Inserter
	senders map[string]Sender
	prepare PrepareFunc
	backoff func(attempt int) time.Duration
	// maxTimeout caps every delivery kind's timeout below the job engine's
	// rescue horizon, which tests and small deployments may set low.
	maxTimeout time.Duration
}

// New returns an outbox delivering with opts and registers its jobs in reg.
func New(db *database.DB, reg *jobs.Registry, opts Options) *Outbox {
	o := &Outbox{db: db, jobs: reg.Inserter(), senders: maps.Clone(opts.Senders), prepare: opts.Prepare, backoff: opts.Backoff, maxTimeout: reg.MaxTimeout()}
	jobs.Add(reg, &deliverWorker{o: o})
	jobs.Add(reg, &batchWorker{o: o})
	jobs.Add(reg, &sweepWorker{o: o})
	reg.Periodic("outbox_sweep", 5*time.Minute, func() river.JobArgs { return sweepArgs{} })
	return o
}

func (o *Outbox) sender(channel string) Sender { return o.senders[channel] }

func (o *Outbox) retryDelay(attempt int) time.Duration {
	if o.backoff != nil {
		return o.backoff(attempt)
	}
	return time.Duration(attempt*attempt*attempt*attempt) * time.Second
}

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

// Body is text shared by many messages.
type body struct {
	bun.BaseModel `bun:"table:outbox_bodies"`

	ID        string    `bun:"id,pk"`
	BodyText  string    `bun:"body_text"`
	BodyHTML  string    `bun:"body_html"`
	CreatedAt time.Time `bun:"created_at"`
}

// StoreBody stores, in tx, a body that many messages share (an
// announcement rendered once) and returns its id: messages stored with
// body_id set to it and empty bodies are delivered with it, and the text
// is kept once instead of once per recipient.
func (o *Outbox) StoreBody(ctx context.Context, tx bun.Tx, text, html string) (string, error) {
	b := &body{ID: uuid.Must(uuid.NewV7()).String(), BodyText: text, BodyHTML: html, CreatedAt: time.Now().UTC()}
	if _, err := tx.NewInsert().Model(b).Exec(ctx); err != nil {
		return "", fmt.Errorf("outbox: storing a shared body: %w", err)
	}
	return b.ID, nil
}

// Messages sharing a body (StoreBody) are delivered by batch jobs of
// batchSize messages each, named by a range of ids: a job row per message
// would cost more than the message itself (River's rows carry several
// indexes, two of them GIN over the arguments).
const (
	batchSize = 50
	// insertBatch bounds one InsertManyTx.
	insertBatch = 5000
)

// EnqueueJobs adds, in tx, one delivery job per message for messages the
// caller stored itself with status pending (Enqueue is the one-message
// form).
func (o *Outbox) EnqueueJobs(ctx context.Context, tx bun.Tx, ids []string) error {
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: deliverArgs{MessageID: id}}
	}
	return o.insertMany(ctx, tx, params)
}

// EnqueueShared adds, in tx, the delivery jobs of messages the caller
// stored with status pending and body_id = bodyID: ids must be all of that
// body's messages (a set-based INSERT … SELECT … RETURNING id). They are
// delivered in batches; a message whose delivery fails in a batch is
// handed to a job of its own, with the usual retries, so one bad recipient
// does not hold up the others and a retry never repeats a message already
// sent.
func (o *Outbox) EnqueueShared(ctx context.Context, tx bun.Tx, bodyID string, ids []string) error {
	sorted := slices.Clone(ids)
	slices.Sort(sorted)
	var params []river.InsertManyParams
	for i := 0; i < len(sorted); i += batchSize {
		chunk := sorted[i:min(i+batchSize, len(sorted))]
		params = append(params, river.InsertManyParams{Args: batchArgs{BodyID: bodyID, First: chunk[0], Last: chunk[len(chunk)-1]}})
	}
	return o.insertMany(ctx, tx, params)
}

func (o *Outbox) insertMany(ctx context.Context, tx bun.Tx, params []river.InsertManyParams) error {
	for len(params) > 0 {
		n := min(len(params), insertBatch)
		if err := o.jobs.InsertManyTx(ctx, tx, params[:n]); err != nil {
			return fmt.Errorf("outbox: enqueueing deliveries: %w", err)
		}
		params = params[n:]
	}
	return nil
}

// Get returns a message by id.
func (o *Outbox) Get(ctx context.Context, id string) (*Message, error) {
	m := &Message{}
	if err := o.db.NewSelect().Model(m).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("outbox: loading %s: %w", id, err)
	}
	if m.BodyID != nil {
		b := &body{}
		if err := o.db.NewSelect().Model(b).Where("id = ?", *m.BodyID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("outbox: loading the body of %s: %w", id, err)
		}
		m.BodyText, m.BodyHTML = b.BodyText, b.BodyHTML
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

type sweepArgs struct{}

func (sweepArgs) Kind() string { return "outbox_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	o *Outbox
}

func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration {
	return min(5*time.Minute, w.o.maxTimeout)
}

// Work re-enqueues pending messages whose channel now has a sender and whose
// delivery job is gone (delivered nowhere because no notifier was
// configured at the time, or the job was discarded by an operator).
func (w *sweepWorker) Work(ctx context.Context, job *river.Job[sweepArgs]) error {
	var pending []Message
	now := time.Now().UTC()
	// Messages of a shared body are their batch job's for longer: a big
	// announcement takes a while to send.
	if err := w.o.db.NewSelect().Model(&pending).Column("id", "channel").
		Where("status = ?", StatusPending).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("body_id IS NULL AND created_at < ?", now.Add(-time.Minute)).WhereOr("created_at < ?", now.Add(-30*time.Minute))
		}).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("locked_until IS NULL").WhereOr("locked_until < ?", now)
		}).
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
