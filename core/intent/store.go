package intent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
)

// State is where an action stands.
type State string

const (
	// Started: recorded before the call; no outcome yet.
	Started State = "started"
	// NotDone: the call was refused before anything happened (the plugin
	// was not running, the backend asked to come back later): it may be
	// started again with the same key.
	NotDone State = "not_done"
	// Succeeded and Failed are the backend's answer.
	Succeeded State = "succeeded"
	Failed    State = "failed"
	// Unknown: the action may or may not have happened and nothing tells.
	Unknown State = "unknown"
)

// Intent is one recorded action.
type Intent struct {
	bun.BaseModel `bun:"table:intents,alias:intents"`

	Key        string     `bun:"idem_key,pk"`
	Action     Action     `bun:"action"`
	Plugin     string     `bun:"plugin"`
	ServiceID  string     `bun:"service_id"`
	Subject    string     `bun:"subject"`
	State      State      `bun:"state"`
	Starts     int        `bun:"starts"`
	StartedAt  time.Time  `bun:"started_at"`
	FinishedAt *time.Time `bun:"finished_at"`
	Detail     string     `bun:"detail"`
}

// Options tune the store.
type Options struct {
	// Retention keeps finished intents this long (default 7 days).
	Retention time.Duration
	// Now is the clock (tests); nil = the wall clock in UTC.
	Now    func() time.Time
	Logger hclog.Logger
}

// Store reads and writes intents. It is safe for concurrent use.
type Store struct {
	db   *database.DB
	opts Options
}

// New returns the store over db.
func New(db *database.DB, opts Options) *Store {
	if opts.Retention <= 0 {
		opts.Retention = 7 * 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	return &Store{db: db, opts: opts}
}

// Start is an action about to be called.
type Start struct {
	Key       string
	Action    Action
	Plugin    string
	ServiceID string
	Subject   string
}

// Load returns the intents recorded under keys, by key.
func (s *Store) Load(ctx context.Context, keys []string) (map[string]*Intent, error) {
	out := make(map[string]*Intent, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	var rows []*Intent
	if err := s.db.NewSelect().Model(&rows).Where("idem_key IN (?)", bun.List(keys)).Scan(ctx); err != nil && !database.IsNoRows(err) {
		return nil, fmt.Errorf("intent: loading %d intents: %w", len(keys), err)
	}
	for _, r := range rows {
		out[r.Key] = r
	}
	return out, nil
}

// Begin records in db — a transaction the caller commits before it calls
// the plugin — that the actions are started: a new key is inserted, and a
// key whose last start was not done is started again. It returns the keys
// it started; a key it did not start was started by someone else or has
// its outcome, and must not be called.
func (s *Store) Begin(ctx context.Context, db bun.IDB, starts []Start) (map[string]bool, error) {
	started := make(map[string]bool, len(starts))
	if len(starts) == 0 {
		return started, nil
	}
	now := s.opts.Now()
	rows := make([]Intent, len(starts))
	for i, st := range starts {
		rows[i] = Intent{Key: st.Key, Action: st.Action, Plugin: st.Plugin, ServiceID: st.ServiceID, Subject: st.Subject,
			State: Started, Starts: 1, StartedAt: now}
	}
	var keys []string
	err := db.NewInsert().Model(&rows).
		On("CONFLICT (idem_key) DO UPDATE").
		Set("state = EXCLUDED.state, starts = intents.starts + 1, started_at = EXCLUDED.started_at, finished_at = NULL, detail = ''").
		Where("intents.state = ?", NotDone).
		Returning("idem_key").Scan(ctx, &keys)
	if err != nil && !database.IsNoRows(err) {
		return nil, fmt.Errorf("intent: starting %d actions: %w", len(starts), err)
	}
	for _, k := range keys {
		started[k] = true
	}
	return started, nil
}

// Repeat starts again, in db, the action recorded under key, when its
// policy says repeating it is safe or its last start was not done, and
// reports whether it did. The caller then calls again with the same key.
func (s *Store) Repeat(ctx context.Context, db bun.IDB, key string) (bool, error) {
	var in Intent
	if err := db.NewSelect().Model(&in).Where("idem_key = ?", key).Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return false, nil
		}
		return false, fmt.Errorf("intent: loading %s: %w", key, err)
	}
	if in.State != NotDone && PolicyOf(in.Action).Repeat != Safe {
		return false, nil
	}
	res, err := db.NewUpdate().Model((*Intent)(nil)).
		Set("state = ?", Started).Set("starts = starts + 1").Set("started_at = ?", s.opts.Now()).
		Set("finished_at = NULL").Set("detail = ?", "started again: "+PolicyOf(in.Action).How).
		Where("idem_key = ?", key).Where("state = ?", in.State).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("intent: starting %s again: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Outcome is what became of an action.
type Outcome struct {
	Key    string
	State  State
	Detail string
}

// Finish records outcomes in db, the caller's transaction that records
// what they mean for its own rows. Only actions still started change: an
// outcome already recorded stays. An outcome of Started changes nothing;
// one of NotDone lets Begin start the action again.
func (s *Store) Finish(ctx context.Context, db bun.IDB, outs []Outcome) error {
	var b strings.Builder
	args := make([]any, 0, 3*len(outs)+2)
	cast, castTime := "?", "?"
	if s.db.Dialect == database.Postgres {
		cast, castTime = "?::text", "?::timestamptz"
	}
	args = append(args, s.opts.Now())
	n := 0
	for _, o := range outs {
		if o.State == Started {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString("(" + cast + ", " + cast + ", " + cast + ")")
		args = append(args, o.Key, string(o.State), database.Text(o.Detail, 1000))
	}
	if n == 0 {
		return nil
	}
	args = append(args, Started)
	// Columns of v: key, state, detail.
	q := `UPDATE intents SET state = v.column2, detail = v.column3, finished_at = ` + castTime + `
		FROM (VALUES ` + b.String() + `) AS v
		WHERE intents.idem_key = v.column1 AND intents.state = ?`
	if _, err := db.NewRaw(q, args...).Exec(ctx); err != nil {
		return fmt.Errorf("intent: recording %d outcomes: %w", n, err)
	}
	return nil
}

// Classify is the state a plugin call's error leaves its action in, by
// what the error tells about the backend having acted (sdk.OutcomeOf):
//
//	nil                                         → Succeeded
//	not sent (the host refused before calling)  → NotDone
//	Deferred: Unavailable with a retry hint,
//	Capacity (the backend asked to come back)   → NotDone
//	Refused: InvalidInput, NotFound, Conflict,
//	NotSupported, Unauthenticated               → Failed (the backend said no)
//	InDoubt: a deadline, a lost process,
//	Unavailable without a hint, Internal        → Started: in doubt
func Classify(err error) State {
	switch {
	case err == nil:
		return Succeeded
	case errors.Is(err, pluginhost.ErrNotSent):
		return NotDone
	}
	switch sdk.OutcomeOf(err) {
	case sdk.Refused:
		return Failed
	case sdk.Deferred:
		return NotDone
	}
	return Started
}

// RecordWithRetry runs write (the transaction recording outcomes) until it
// succeeds, retrying with backoff while its error is a connection error or
// a serialization failure, for as long as ctx's deadline allows (the job's
// budget; 30 s without one). It keeps trying after ctx is cancelled (the
// outcomes are known and would otherwise be asked for again), within the
// same deadline. The first failure is logged once.
func (s *Store) RecordWithRetry(ctx context.Context, what string, write func(ctx context.Context) error) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	rctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := write(rctx)
		if err == nil {
			if attempt > 1 {
				s.opts.Logger.Info("outcomes recorded after retrying", "what", what, "attempts", attempt)
			}
			return nil
		}
		if !database.IsConnectionError(err) && !database.IsSerializationFailure(err) {
			return err
		}
		if attempt == 1 {
			s.opts.Logger.Warn("recording outcomes failed; retrying with backoff, the calls are not made again", "what", what, "error", err)
		}
		wait := delay/2 + rand.N(delay/2+1)
		if time.Until(deadline) < wait {
			return fmt.Errorf("intent: recording %s: the job's budget ran out after %d attempts: %w", what, attempt, err)
		}
		select {
		case <-rctx.Done():
			return fmt.Errorf("intent: recording %s: %w", what, err)
		case <-time.After(wait):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// Prune deletes intents finished (or found not done) before the
// retention, in batches, and
// returns how many.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	cutoff := s.opts.Now().Add(-s.opts.Retention)
	var total int64
	for {
		res, err := s.db.NewRaw(`DELETE FROM intents WHERE idem_key IN
			(SELECT idem_key FROM intents WHERE finished_at IS NOT NULL AND finished_at < ? LIMIT 5000)`, cutoff).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("intent: pruning: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 || ctx.Err() != nil {
			return total, nil
		}
	}
}

// RegisterPrune registers the hourly prune of finished intents.
func (s *Store) RegisterPrune(reg *jobs.Registry) {
	jobs.Add(reg, &pruneWorker{s: s, timeout: min(2*time.Minute, reg.MaxTimeout())})
	reg.Periodic("intent_prune", time.Hour, func() river.JobArgs { return pruneArgs{} })
}

type pruneArgs struct{}

func (pruneArgs) Kind() string { return "intent_prune" }

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	s       *Store
	timeout time.Duration
}

func (w *pruneWorker) Timeout(*river.Job[pruneArgs]) time.Duration { return w.timeout }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	_, err := w.s.Prune(ctx)
	return err
}
