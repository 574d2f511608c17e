package transfers

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
)

// Billing is what transfers needs of billing: the checks of a service and
// a receiving account, and the move with its proration in the completing
// transaction.
type Billing interface {
	CheckTransfer(ctx context.Context, serviceID, from, to string) (*billing.TransferFacts, error)
	TransferServiceTx(ctx context.Context, tx bun.Tx, mv billing.TransferMove) (*billing.TransferSettlement, error)
	// AdmitTransferTx checks that the receiving account may take the
	// service (its budget's hard stop), in tx.
	AdmitTransferTx(ctx context.Context, tx bun.Tx, serviceID, to string) error
}

// Directory finds receiving accounts and names accounts.
type Directory interface {
	// OwnedAccounts returns the accounts the user with this email owns
	// (role owner), by account name then id; none when there is no such
	// user.
	OwnedAccounts(ctx context.Context, email string) ([]Account, error)
	// AccountName returns an account's display name.
	AccountName(ctx context.Context, accountID string) (string, error)
}

// Account is an account a receiver owns.
type Account struct {
	ID   string
	Name string
}

// Notifier tells people, in the caller's transaction.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// MoveFunc moves what one domain keeps about a service to the receiving
// account, in the completing transaction, and returns what it did (kept in
// the audit event).
type MoveFunc func(ctx context.Context, tx bun.Tx, serviceID, from, to string) (any, error)

// Options tune the service. DefaultOptions gives the shipped values.
type Options struct {
	// RequireStaffApproval: an accepted transfer waits for staff to approve
	// it; false: acceptance completes it.
	RequireStaffApproval bool
	// TTL is how long a transfer may wait for the receiver and then for
	// staff before it expires (default 7 days).
	TTL time.Duration
	// SweepInterval is how often expired transfers are marked and their
	// accounts told (default 15 minutes).
	SweepInterval time.Duration
	// Now is the clock (nil: the wall clock, UTC).
	Now func() time.Time
}

// DefaultOptions are the shipped settings (config's transfers block).
func DefaultOptions() Options {
	return Options{RequireStaffApproval: true, TTL: 7 * 24 * time.Hour, SweepInterval: 15 * time.Minute}
}

// Service is service transfers. Customer methods take the Actor the HTTP
// layer admitted to an account; a transfer neither sending from nor
// receiving to that account is NotFound.
type Service struct {
	db       *database.DB
	billing  Billing
	dir      Directory
	notifier Notifier
	opts     Options
	movers   []mover
}

type mover struct {
	name string
	fn   MoveFunc
}

// Deps are the service's collaborators.
type Deps struct {
	DB        *database.DB
	Billing   Billing
	Directory Directory
	// Notifier tells both accounts (nil: nobody is told).
	Notifier Notifier
	// Jobs, when set, registers the expiry sweep.
	Jobs *jobs.Registry
}

// New returns the service. Unset TTL and SweepInterval take the defaults.
func New(d Deps, opts Options) *Service {
	def := DefaultOptions()
	if opts.TTL <= 0 {
		opts.TTL = def.TTL
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = def.SweepInterval
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	s := &Service{db: d.DB, billing: d.Billing, dir: d.Directory, notifier: d.Notifier, opts: opts}
	if d.Jobs != nil {
		jobs.Add(d.Jobs, &sweepWorker{s: s})
		d.Jobs.Periodic(KindSweep, opts.SweepInterval, func() river.JobArgs { return sweepArgs{} })
	}
	return s
}

// OnComplete registers a domain's move of a service, run in the completing
// transaction after billing's, in registration order (core/app/reactions.go).
func (s *Service) OnComplete(name string, fn MoveFunc) {
	s.movers = append(s.movers, mover{name: name, fn: fn})
}

// Options returns the service's settings.
func (s *Service) Options() Options { return s.opts }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Actor is the caller as the route table admitted them to an account.
type Actor struct {
	AccountID string
	// UserID is the user acting (recorded on the transfer).
	UserID string
	// Staff is true when the caller acts as staff rather than as a member.
	Staff bool
}

func (s *Service) tell(ctx context.Context, tx bun.Tx, ev notify.Event) error {
	if s.notifier == nil {
		return nil
	}
	if err := s.notifier.Notify(ctx, tx, ev); err != nil {
		return fmt.Errorf("transfers: notifying %s: %w", ev.Type, err)
	}
	return nil
}
