package provisioning

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/sdk"
)

// Plugins is what provisioning needs of the plugin host; *pluginhost.Host
// satisfies it.
type Plugins interface {
	Provisioner(name string) (sdk.ProvisionerClient, error)
	Get(name string) (pluginhost.Info, error)
}

// Accounts is what provisioning needs of core/accounts: the customer a
// provisioner is told about (Customers: an account's name and first
// owner's address), and for the free tier who ordered and how well their
// login is secured.
type Accounts interface {
	Customers(ctx context.Context, db bun.IDB, accountIDs []string) (map[string]accounts.Customer, error)
	SecurityOf(ctx context.Context, db bun.IDB, userID string) (accounts.LoginSecurity, error)
	FirstOwner(ctx context.Context, db bun.IDB, accountID string) (string, error)
}

// Catalog is what provisioning reads of core/catalog to describe a service
// to its provisioner: plans, add-ons and the plugins' option declarations.
// *catalog.Catalog satisfies it.
type Catalog interface {
	PlansByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*catalog.Plan, error)
	AddonsByID(ctx context.Context, db bun.IDB, ids []string) (map[string]*catalog.Addon, error)
	OptionDeclaration(ctx context.Context, plugin string) (pluginoption.Declaration, error)
}

// Notifier is what provisioning needs of core/notify.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// Options tune provisioning (see config.Provisioning).
type Options struct {
	// FreeTierInactivity is how long a free-tier service may go unused
	// before it is terminated. [90 days]
	FreeTierInactivity time.Duration
	// FreeTierWarnBefore: the customer is warned this long before the
	// termination, and a termination always follows a warning by at least
	// this long. [7 days]
	FreeTierWarnBefore time.Duration
	// SweepInterval spaces the inactivity sweeps; negative registers no
	// periodic sweep (tests call SweepFreeTier themselves). [1h]
	SweepInterval time.Duration
	// ActivityResolution: activity is written at most once per service per
	// this period (every API call on a service would otherwise be a
	// write). [5m]
	ActivityResolution time.Duration
	// UsageInterval spaces usage collections; 0 turns collection off. [5m]
	UsageInterval time.Duration
	// UsageRetention is how long samples are kept. [30 days]
	UsageRetention time.Duration
	// UsageBatch services are read, sampled and written per batch. [200]
	UsageBatch int
	// UsageConcurrency bounds the Usage calls in flight per collection. [8]
	UsageConcurrency int
	// CallTimeout bounds one plugin call made for a customer request or a
	// usage sample. [30s]
	CallTimeout time.Duration
	// PublicURL prefixes links in notifications.
	PublicURL string
	// Now is the clock (tests); nil = the wall clock in UTC.
	Now func() time.Time
}

// DefaultOptions are provisioning's settings when nothing is configured:
// the configuration's defaults (config.Default) are composed from them, and
// tests start from them, so both run provisioning as production does.
func DefaultOptions() Options {
	day := 24 * time.Hour
	return Options{
		FreeTierInactivity: 90 * day,
		FreeTierWarnBefore: 7 * day,
		SweepInterval:      time.Hour,
		ActivityResolution: 5 * time.Minute,
		UsageInterval:      5 * time.Minute,
		UsageRetention:     30 * day,
		UsageBatch:         200,
		UsageConcurrency:   8,
		CallTimeout:        30 * time.Second,
	}
}

// withDefaults fills the unset settings from DefaultOptions. UsageInterval
// is not among them: zero is a setting (no usage collection).
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	o.FreeTierInactivity = cmp.Or(max(o.FreeTierInactivity, 0), d.FreeTierInactivity)
	o.FreeTierWarnBefore = cmp.Or(max(o.FreeTierWarnBefore, 0), d.FreeTierWarnBefore)
	if o.FreeTierWarnBefore >= o.FreeTierInactivity {
		o.FreeTierWarnBefore = o.FreeTierInactivity / 2
	}
	o.SweepInterval = cmp.Or(o.SweepInterval, d.SweepInterval)
	o.ActivityResolution = cmp.Or(max(o.ActivityResolution, 0), d.ActivityResolution)
	o.UsageInterval = max(o.UsageInterval, 0)
	o.UsageRetention = cmp.Or(max(o.UsageRetention, 0), d.UsageRetention)
	o.UsageBatch = cmp.Or(max(o.UsageBatch, 0), d.UsageBatch)
	o.UsageConcurrency = cmp.Or(max(o.UsageConcurrency, 0), d.UsageConcurrency)
	o.CallTimeout = cmp.Or(max(o.CallTimeout, 0), d.CallTimeout)
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// Deps are the services provisioning uses.
type Deps struct {
	DB      *database.DB
	Jobs    *jobs.Registry
	Billing *billing.Billing
	// Services is the service records the backend jobs act on and record
	// their outcomes in (core/services). Required.
	Services *services.Services
	// Catalog and Accounts describe a service to its provisioner; Accounts
	// also tells the free tier how well the orderer's login is secured.
	// Required.
	Catalog  Catalog
	Accounts Accounts
	// Plugins may be nil: calls then fail as unavailable (and the backend
	// jobs retry).
	Plugins  Plugins
	Notifier Notifier
	// Intents records the backend jobs' Create calls before they are made
	// (core/intent); nil = a store of its own over DB.
	Intents *intent.Store
	Logger  hclog.Logger
}

// Service is the provisioning domain. Its methods are safe for concurrent
// use.
type Service struct {
	db       *database.DB
	jobs     *jobs.Inserter
	billing  *billing.Billing
	services *services.Services
	catalog  Catalog
	accounts Accounts
	plugins  Plugins
	notifier Notifier
	intents  *intent.Store
	log      hclog.Logger
	opts     Options
}

// New builds the service and registers its jobs: the backend jobs billing
// queues on services (Create, readiness and sync; backend.go), the
// free-tier sweep, usage collection and pruning. Attach registers its
// billing hooks (free-tier admission on order, the free slot ending with
// its service).
func New(deps Deps, opts Options) *Service {
	opts = opts.withDefaults()
	if deps.Logger == nil {
		deps.Logger = hclog.NewNullLogger()
	}
	s := &Service{db: deps.DB, jobs: deps.Jobs.Inserter(), billing: deps.Billing, services: deps.Services, catalog: deps.Catalog, accounts: deps.Accounts, notifier: deps.Notifier, intents: deps.Intents, log: deps.Logger, opts: opts}
	if s.intents == nil {
		s.intents = intent.New(deps.DB, intent.Options{Logger: deps.Logger})
	}
	s.plugins = deps.Plugins
	s.register(deps.Jobs)
	return s
}

// Attach registers provisioning's reactions, run in the reacting
// transaction: the free tier's admission of an order (billing's,
// admitFreeTier) and a free-tier slot ending with its service (a status
// change in core/services, followStatus). core/app calls
// it while wiring (core/app/reactions.go lists every reaction).
func (s *Service) Attach(b *billing.Billing) {
	b.OnOrder(s.admitFreeTier)
	s.services.OnStatus(s.followStatus)
}

// Options returns the effective options.
func (s *Service) Options() Options { return s.opts }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func (s *Service) register(reg *jobs.Registry) {
	s.registerBackendJobs(reg)
	jobs.Add(reg, &sweepWorker{s: s})
	if s.opts.SweepInterval > 0 {
		reg.Periodic("provisioning_free_tier_sweep", s.opts.SweepInterval, func() river.JobArgs { return sweepArgs{} })
	}
	jobs.Add(reg, &usageWorker{s: s})
	jobs.Add(reg, &pruneWorker{s: s})
	if s.opts.UsageInterval > 0 {
		reg.Periodic("provisioning_usage_collect", s.opts.UsageInterval, func() river.JobArgs { return usageArgs{} })
		reg.Periodic("provisioning_usage_prune", time.Hour, func() river.JobArgs { return pruneArgs{} })
	}
}

// provisioner returns the plugin and checks it has described cap.
// Errors: Unavailable (plugin unknown or not running), Unprocessable
// (the plugin cannot do cap).
func (s *Service) provisioner(name string, cap sdk.Capability) (sdk.ProvisionerClient, error) {
	if s.plugins == nil {
		return nil, apperr.New(apperr.Unavailable, "the service's provisioner is not available; try again later").WithReason("plugin_unavailable")
	}
	in, err := s.plugins.Get(name)
	if err != nil || in.Version == "" {
		return nil, apperr.New(apperr.Unavailable, "the service's provisioner is not available; try again later").WithReason("plugin_unavailable")
	}
	if !slices.Contains(in.Capabilities, string(cap)) {
		return nil, apperr.New(apperr.Unprocessable, "this service's provisioner does not support %s", capName(cap)).WithReason("not_supported")
	}
	prov, err := s.plugins.Provisioner(name)
	if err != nil {
		return nil, apperr.New(apperr.Unavailable, "the service's provisioner is not available; try again later").WithReason("plugin_unavailable")
	}
	return prov, nil
}

// supports reports whether a running plugin described cap.
func (s *Service) supports(name string, cap sdk.Capability) bool {
	if s.plugins == nil {
		return false
	}
	in, err := s.plugins.Get(name)
	return err == nil && in.Version != "" && slices.Contains(in.Capabilities, string(cap))
}

func capName(c sdk.Capability) string {
	switch c {
	case sdk.CapPower:
		return "power actions"
	case sdk.CapLoginURL:
		return "login links"
	case sdk.CapUsage:
		return "usage reports"
	}
	return string(c)
}

// backendError turns a provisioner's error on op into what the customer
// sees: the platform's one mapping of plugin errors (apperr.FromPlugin),
// with the provisioner's text kept for the log only.
func backendError(op string, err error) error {
	return apperr.FromPlugin(fmt.Errorf("provisioning: %s: %w", op, err), "the service's backend")
}
