package approval

import (
	"context"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
)

// Options configure the gate.
type Options struct {
	// TTL is how long an approval waits for a decision (default 24h).
	TTL time.Duration
	// ExpireEvery is how often pending approvals past their TTL are
	// expired (default 1m).
	ExpireEvery time.Duration
	// Now is the clock (tests); nil: the wall clock.
	Now func() time.Time
}

// DefaultOptions are the shipped settings.
func DefaultOptions() Options {
	return Options{TTL: 24 * time.Hour, ExpireEvery: time.Minute}
}

func (o *Options) defaults() {
	d := DefaultOptions()
	if o.TTL <= 0 {
		o.TTL = d.TTL
	}
	if o.ExpireEvery <= 0 {
		o.ExpireEvery = d.ExpireEvery
	}
}

// Notifier is what the gate tells people through (core/notify).
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// Staff is the staff directory the gate reads (core/accounts).
type Staff interface {
	// StaffIDs lists the enabled staff users with one of roles.
	StaffIDs(ctx context.Context, roles ...string) ([]string, error)
	// User loads a user (NotFound when there is none).
	User(ctx context.Context, id string) (*accounts.User, error)
}

// Sealer seals held request bodies at rest (accounts.Keyring).
type Sealer interface {
	Seal(plaintext, aad string) string
	Open(sealed, aad string) (string, error)
}

// Deps are the gate's collaborators.
type Deps struct {
	DB       *database.DB
	Notifier Notifier
	Staff    Staff
	// Sealer, when set, seals held bodies; without it they are stored as
	// they came (development without a secrets key).
	Sealer Sealer
	// Jobs, when set, registers the expiry job.
	Jobs *jobs.Registry
}

// Service is the high-risk gate: policies and approvals.
type Service struct {
	db     *database.DB
	notify Notifier
	staff  Staff
	sealer Sealer
	opts   Options

	mu    sync.RWMutex
	cache *compiledSet
}

// New builds the service and registers its expiry job with deps.Jobs.
func New(deps Deps, opts Options) *Service {
	opts.defaults()
	s := &Service{db: deps.DB, notify: deps.Notifier, staff: deps.Staff, sealer: deps.Sealer, opts: opts}
	if deps.Jobs != nil {
		jobs.Add(deps.Jobs, &expireWorker{s: s})
		deps.Jobs.Periodic("approval_expire", opts.ExpireEvery, func() river.JobArgs { return expireArgs{} })
	}
	return s
}

// TTL is how long an approval waits.
func (s *Service) TTL() time.Duration { return s.opts.TTL }

func (s *Service) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC()
	}
	return time.Now().UTC()
}
