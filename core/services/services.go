package services

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/txwork"
)

// Options tune the services domain.
type Options struct {
	// ProvisionMaxAttempts bounds provisioning and backend sync attempts
	// (the capacity alert quotes it; core/provisioning's workers stop
	// there).
	ProvisionMaxAttempts int
	// InstallPollInterval spaces the readiness checks of a service created
	// at its backend but still installing; InstallTimeout is how long it
	// may install before it fails (and a paid order is refunded).
	InstallPollInterval, InstallTimeout time.Duration
	// Now is the clock (tests); nil = the wall clock in UTC.
	Now func() time.Time
}

// DefaultOptions are the services domain's settings when nothing is
// configured. They are settings of the configuration's billing section
// (billing.provision_max_attempts, billing.install_poll_interval,
// billing.install_timeout), where operators have always set them;
// config.Default composes them from here.
func DefaultOptions() Options {
	return Options{ProvisionMaxAttempts: 8, InstallPollInterval: 30 * time.Second, InstallTimeout: time.Hour}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	o.ProvisionMaxAttempts = cmp.Or(o.ProvisionMaxAttempts, d.ProvisionMaxAttempts)
	o.InstallPollInterval = cmp.Or(o.InstallPollInterval, d.InstallPollInterval)
	o.InstallTimeout = cmp.Or(o.InstallTimeout, d.InstallTimeout)
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// Deps are what the services domain uses.
type Deps struct {
	DB   *database.DB
	Jobs *jobs.Registry
	// Notifier tells customers and staff about their services (suspended,
	// provisioned, failed, no capacity); nil tells nobody.
	Notifier Notifier
	// Catalog names a service's plan in notices and picks the plans of a
	// kind (game services, provisioners in use). Required.
	Catalog Catalog
	// Accounts lists a user's accounts (community holdings). Required.
	Accounts Accounts
}

// Catalog is what the services domain reads of core/catalog.
type Catalog interface {
	PlanTx(ctx context.Context, db bun.IDB, id string) (*catalog.Plan, error)
	PlansByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*catalog.Plan, error)
	PlanIDs(ctx context.Context, db bun.IDB, f catalog.PlanFilter) ([]string, error)
}

// Accounts is what the services domain needs of core/accounts.
type Accounts interface {
	AccountIDsOf(ctx context.Context, userID string) ([]string, error)
}

// Notifier is what the services domain needs of core/notify.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// StatusHook reacts to a service's status change inside its transaction.
// It must be quick and must not call plugins; an error rolls the change
// back.
type StatusHook func(ctx context.Context, tx bun.Tx, svc *Service, from string) error

// FailureReaction is what happens, in the same transaction, when a
// service's provisioning fails for good (billing returns the order's
// payment to credit). LockAccount runs first, before the service's row is
// locked, so the account's locks are taken in the order every other path
// takes them; Failed runs once the service is failed.
type FailureReaction struct {
	LockAccount func(ctx context.Context, tx bun.Tx, accountID string) error
	Failed      func(ctx context.Context, t *txwork.Tx, svc *Service) error
}

// Services is the services domain: the service record (what a customer's
// service is and what its backend runs), its status machine and
// suspensions, and the bookkeeping of its backend (the provisioning,
// readiness and sync jobs core/provisioning works, and their outcomes).
// It calls no plugin. Methods taking a *txwork.Tx or a bun.Tx run inside
// the caller's transaction; the others open their own.
type Services struct {
	db       *database.DB
	jobs     *jobs.Inserter
	work     txwork.Runner
	notifier Notifier
	catalog  Catalog
	accounts Accounts
	opts     Options
	status   []StatusHook
	failure  []FailureReaction
}

// New builds the services domain.
func New(deps Deps, opts Options) *Services {
	s := &Services{
		db: deps.DB, jobs: deps.Jobs.Inserter(), notifier: deps.Notifier, catalog: deps.Catalog, accounts: deps.Accounts,
		opts: opts.withDefaults(),
	}
	s.work = txwork.NewRunner(deps.DB, s.jobs)
	return s
}

// Options returns the effective options.
func (s *Services) Options() Options { return s.opts }

// OnStatus registers h for every service status change. Register while
// wiring, before jobs start.
func (s *Services) OnStatus(h StatusHook) { s.status = append(s.status, h) }

// OnProvisioningFailed registers r for every service whose provisioning
// fails for good. Register while wiring.
func (s *Services) OnProvisioningFailed(r FailureReaction) { s.failure = append(s.failure, r) }

func (s *Services) now() time.Time { return s.opts.Now().UTC() }

func (s *Services) inTx(ctx context.Context, fn func(ctx context.Context, t *txwork.Tx) error) error {
	return s.work.Run(ctx, fn)
}

func (s *Services) join(ctx context.Context, tx bun.Tx, fn func(t *txwork.Tx) error) error {
	return s.work.Join(ctx, tx, fn)
}

// tell hands a typed event to the notifier in t, so the notice exists if
// and only if the change that causes it commits.
func (s *Services) tell(ctx context.Context, t *txwork.Tx, ev notify.Event) error {
	if s.notifier == nil {
		return nil
	}
	return s.notifier.Notify(ctx, t.Tx, ev)
}

// Name is what notices call a service (notify.ServiceName): its label,
// else its plan's name and hostname, never its id.
func (s *Services) Name(ctx context.Context, db bun.IDB, svc *Service) string {
	var plan string
	if p, err := s.catalog.PlanTx(ctx, db, svc.PlanID); err == nil {
		plan = p.Name
	}
	return notify.ServiceName(svc.Label, plan, notify.Hostname(svc.Attributes, svc.Options))
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Services keep their options and attributes as JSON objects of strings.

func decodeOptions(s string) map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal([]byte(s), &m)
	return m
}

// EncodeJSON is a service's options or attributes as stored.
func EncodeJSON(v map[string]string) string {
	if v == nil {
		v = map[string]string{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("services: encoding %T: %v", v, err)) // maps of strings always encode
	}
	return string(b)
}
