package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hashicorp/go-hclog"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/calendar"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Plugins is what the scheduler needs from the plugin host; *pluginhost.Host
// satisfies it. Calls through it never happen inside a transaction.
type Plugins interface {
	Provisioner(name string) (sdk.ProvisionerClient, error)
	// Get reports a plugin's state and the capabilities it described.
	Get(name string) (pluginhost.Info, error)
}

// Options tune the scheduler (see config.Scheduler).
type Options struct {
	// RecoveryInterval is the time between two checks of one service.
	RecoveryInterval time.Duration
	// JobTimeout bounds every scheduler job (below jobs.rescue_after).
	JobTimeout time.Duration
	// RetryBase and RetryMax shape a failed run's backoff.
	RetryBase, RetryMax time.Duration
	// BatchSize is how many due tasks one transaction turns into runs.
	BatchSize int
	// RunsPerJob is how many runs due together one job executes (their
	// provisioner calls concurrently).
	RunsPerJob int
	// Lookahead is how far ahead of their due time runs and their jobs
	// are made (0: when due). The due-tasks job runs every minute, so one
	// minute makes every run a minute ahead.
	Lookahead time.Duration
	// CheckTimeout bounds one health probe.
	CheckTimeout time.Duration
	// RecheckAfter is the pause before a failed probe is repeated: only a
	// second failure in a row makes the service down, so one lost packet or
	// a restarting listener does not restart it.
	RecheckAfter time.Duration
	// AllowPrivate lets health probes reach private, loopback and every
	// other special-purpose address (special.go).
	AllowPrivate bool
	// LookupIP resolves the names of health-check targets; nil is the
	// system resolver (tests give their own).
	LookupIP LookupFunc
	// Now is the clock (tests); nil = the wall clock in UTC.
	Now func() time.Time
}

// DefaultOptions are the scheduler's settings when nothing is configured:
// the configuration's defaults (config.Default) are composed from them, and
// tests start from them, so both run the scheduler as production does.
func DefaultOptions() Options {
	return Options{
		RecoveryInterval: 5 * time.Minute,
		JobTimeout:       2 * time.Minute,
		RetryBase:        30 * time.Second,
		RetryMax:         time.Hour,
		BatchSize:        1000,
		RunsPerJob:       50,
		// The due-tasks job runs every minute: runs made a minute ahead
		// start on time.
		Lookahead:    time.Minute,
		CheckTimeout: 10 * time.Second,
		RecheckAfter: 2 * time.Second,
	}
}

// withDefaults fills the unset settings from DefaultOptions. Lookahead is
// not among them: zero is a setting (runs are made when due).
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	o.RecoveryInterval = cmp.Or(max(o.RecoveryInterval, 0), d.RecoveryInterval)
	o.JobTimeout = cmp.Or(max(o.JobTimeout, 0), d.JobTimeout)
	o.RetryBase = cmp.Or(max(o.RetryBase, 0), d.RetryBase)
	if o.RetryMax < o.RetryBase {
		o.RetryMax = max(d.RetryMax, o.RetryBase)
	}
	o.BatchSize = cmp.Or(max(o.BatchSize, 0), d.BatchSize)
	o.RunsPerJob = cmp.Or(max(o.RunsPerJob, 0), d.RunsPerJob)
	o.Lookahead = max(o.Lookahead, 0)
	o.CheckTimeout = cmp.Or(max(o.CheckTimeout, 0), d.CheckTimeout)
	o.RecheckAfter = cmp.Or(max(o.RecheckAfter, 0), d.RecheckAfter)
	if o.Now == nil {
		o.Now = func() time.Time { return time.Now().UTC() }
	}
	return o
}

// Descriptions is what the scheduler is told a service's provisioner must
// hear about it, from core/provisioning, which builds that description.
// *provisioning.Service satisfies it.
type Descriptions interface {
	// ProvisionerViews is the one description of a service its
	// provisioner is told (the same that Create, a sync and a power action
	// send), for a chunk of services in a fixed number of queries.
	ProvisionerViews(ctx context.Context, serviceIDs []string) (map[string]provisioning.View, error)
}

// Services is what the scheduler reads of services from their owner
// (core/services); it queries none of its tables itself.
// *services.Services satisfies it.
type Services interface {
	// Facts is each service's account, status, plan, provisioner and
	// name, as db sees them.
	Facts(ctx context.Context, db bun.IDB, serviceIDs []string) (map[string]services.Fact, error)
}

// Catalog is what the scheduler reads of the catalog (core/catalog):
// the plans and add-ons a scheduled change names. *catalog.Catalog
// satisfies it.
type Catalog interface {
	// Plan and Addon find a plan or add-on by id or slug, inside the
	// ambient transaction when ctx carries one. Errors: NotFound.
	Plan(ctx context.Context, idOrSlug string) (*catalog.Plan, error)
	Addon(ctx context.Context, idOrSlug string) (*catalog.Addon, error)
}

// Deps are the services the scheduler uses.
type Deps struct {
	DB   *database.DB
	Jobs *jobs.Registry
	// Plugins is the plugin host; nil (tests of what calls no plugin):
	// plugin calls fail as unavailable and are retried.
	Plugins Plugins
	// Services is the services' owner (billing). Required.
	Services Services
	// Descriptions describes services to their provisioner
	// (core/provisioning). Required.
	Descriptions Descriptions
	// Catalog finds the plans and add-ons scheduled changes name.
	Catalog Catalog
	// Notifier tells customers about outcomes; nil = nobody is told.
	Notifier Notifier
	// PlanChanger applies scheduled plan changes (billing); nil: scheduling
	// a plan change is refused.
	PlanChanger PlanChanger
	// Intents records the runs' backend actions; nil = a store of its own
	// over DB.
	Intents *intent.Store
	Logger  hclog.Logger
}

// Service is the scheduler. Its methods are called by the HTTP layer with
// an account the caller was already found to have access to; every object
// of another account is NotFound.
type Service struct {
	db     *database.DB
	jobs   *jobs.Inserter
	opts   Options
	log    hclog.Logger
	notify Notifier
	// services reads services (Deps.Services), descriptions what their
	// provisioner is told, catalog the plans and add-ons.
	services     Services
	descriptions Descriptions
	catalog      Catalog

	plugins Plugins
	// planChanger is atomic because a test swaps it while jobs run
	// (SetPlanChangerForTest); it is otherwise set once, in New.
	planChanger atomic.Pointer[PlanChanger]
	intents     *intent.Store
	// noIntents runs tasks without recording their actions (the
	// benchmark's baseline only).
	noIntents bool

	crons sync.Map // expr+"\x00"+tz → *calendar.Cron

	// onHealth reacts to a service's health as auto-recovery sees it
	// changing (OnHealth); registered while wiring.
	onHealth []HealthHook
}

// New returns the scheduler and registers its jobs in deps.Jobs.
func New(deps Deps, opts Options) *Service {
	opts = opts.withDefaults()
	s := &Service{db: deps.DB, jobs: deps.Jobs.Inserter(), opts: opts, log: deps.Logger, notify: deps.Notifier, services: deps.Services, descriptions: deps.Descriptions, catalog: deps.Catalog}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if s.notify == nil {
		s.notify = nopNotifier{}
	}
	s.intents = deps.Intents
	if s.intents == nil {
		s.intents = intent.New(deps.DB, intent.Options{Now: opts.Now, Logger: s.log})
	}
	s.plugins = deps.Plugins
	if deps.PlanChanger != nil {
		s.planChanger.Store(&deps.PlanChanger)
	}
	s.register(deps.Jobs)
	return s
}

// register adds the scheduler's workers and periodic jobs.
func (s *Service) register(reg *jobs.Registry) {
	jobs.Add(reg, &dueWorker{s: s})
	jobs.Add(reg, &runWorker{s: s})
	jobs.Add(reg, &recoveryTickWorker{s: s})
	jobs.Add(reg, &checkWorker{s: s})
	jobs.Add(reg, &remindChangeWorker{s: s})
	jobs.Add(reg, &applyChangeWorker{s: s})
	reg.PeriodicSchedule(KindDueTasks, everyMinute{}, time.Minute, func() river.JobArgs { return dueArgs{} })
	reg.Periodic(KindRecoveryTick, s.tickEvery(), func() river.JobArgs { return recoveryTickArgs{} })
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// cron parses expr in tz, caching the result: the due-tasks job evaluates
// thousands of tasks that share a few expressions.
func (s *Service) cron(expr, tz string) (*calendar.Cron, error) {
	key := expr + "\x00" + tz
	if c, ok := s.crons.Load(key); ok {
		return c.(*calendar.Cron), nil
	}
	c, err := calendar.ParseCron(expr, tz)
	if err != nil {
		return nil, err
	}
	s.crons.Store(key, c)
	return c, nil
}

// serviceRef is what the scheduler reads of a service (core/services'
// facts).
type serviceRef = services.Fact

// service loads one of the account's services. Errors: NotFound (naming
// field when set, as a request field error).
func (s *Service) service(ctx context.Context, db bun.IDB, accountID, serviceID, field string) (*serviceRef, error) {
	facts, err := s.services.Facts(ctx, db, []string{serviceID})
	if err != nil {
		return nil, fmt.Errorf("scheduler: loading service %s: %w", serviceID, err)
	}
	ref, ok := facts[serviceID]
	if !ok || ref.AccountID != accountID {
		if field != "" {
			return nil, apperr.Field(field, "is not a service of this account")
		}
		return nil, apperr.NotFoundf("no such service")
	}
	return &ref, nil
}

// describe fills each run's description for its provisioner (one batch
// from the services' owner); a service gone since is described by its
// ids alone, and its run is skipped as the service's status says.
func (s *Service) describe(ctx context.Context, rcs []*runContext) error {
	if len(rcs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(rcs))
	for _, rc := range rcs {
		ids = append(ids, rc.ID)
	}
	views, err := s.views(ctx, ids)
	if err != nil {
		return err
	}
	for _, rc := range rcs {
		v, ok := views[rc.ID]
		switch {
		case !ok:
			rc.refused = fmt.Errorf("scheduler: service %s not found", rc.ID)
		case v.Refused != nil:
			rc.refused = v.Refused
		default:
			rc.ref = v.Ref
		}
	}
	return nil
}

// describeOne is describe for one service.
func (s *Service) describeOne(ctx context.Context, serviceID string) (*pb.ServiceRef, error) {
	views, err := s.views(ctx, []string{serviceID})
	if err != nil {
		return nil, err
	}
	v, ok := views[serviceID]
	switch {
	case !ok:
		return nil, apperr.NotFoundf("no such service")
	case v.Refused != nil:
		return nil, v.Refused
	}
	return v.Ref, nil
}

func (s *Service) views(ctx context.Context, ids []string) (map[string]provisioning.View, error) {
	views, err := s.descriptions.ProvisionerViews(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("scheduler: describing %d services: %w", len(ids), err)
	}
	return views, nil
}

// provisioner returns the service's provisioner plugin.
func (s *Service) provisioner(name string) (sdk.ProvisionerClient, error) {
	if s.plugins == nil {
		return nil, sdk.UnavailableError(0, "the plugin host is not running")
	}
	return s.plugins.Provisioner(name)
}

// capabilities returns what the plugin described. Errors: Unavailable when
// the plugin is unknown or has not started yet.
func (s *Service) capabilities(name string) ([]string, error) {
	if s.plugins == nil {
		return nil, apperr.New(apperr.Unavailable, "the service's provisioner is not available; try again later").WithReason("plugin_unavailable")
	}
	in, err := s.plugins.Get(name)
	if err != nil || in.Version == "" {
		return nil, apperr.New(apperr.Unavailable, "the service's provisioner is not available; try again later").WithReason("plugin_unavailable")
	}
	return in.Capabilities, nil
}

// recordTick notes one execution of a periodic job's tick (see
// scheduler_ticks).
func (s *Service) recordTick(ctx context.Context, kind string, at time.Time) error {
	_, err := s.db.NewRaw(`INSERT INTO scheduler_ticks (kind, tick_at, ran_at, runs) VALUES (?, ?, ?, 1)
		ON CONFLICT (kind, tick_at) DO UPDATE SET runs = scheduler_ticks.runs + 1, ran_at = excluded.ran_at`, kind, at.UTC(), s.now()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: recording tick of %s: %w", kind, err)
	}
	return nil
}

// bounded keeps at most n bytes of s: its tail, which is where scripts
// print their errors, behind a note of what was cut. NUL and invalid UTF-8,
// which PostgreSQL refuses in text (a script may print either), are
// replaced first (database.Clean).
func bounded(s string, n int) string {
	s = database.Clean(s)
	if len(s) <= n {
		return s
	}
	cut := len(s) - n
	// Do not split a UTF-8 sequence.
	for cut < len(s) && s[cut]&0xC0 == 0x80 {
		cut++
	}
	return fmt.Sprintf("[%d bytes cut]\n", cut) + s[cut:]
}
