// Package app wires the platform together: storage, job engine, domain
// services, plugin host and HTTP API, from one config. `ezscale serve` runs
// it; end-to-end tests start it on port 0 with a temporary database.
package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river/rivertype"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/budget"
	"github.com/ezscale/platform/core/billing/payments"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/console"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/enterprise"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/logging"
	"github.com/ezscale/platform/core/monitoring"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/ratelimit"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/core/transfers"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
	"github.com/ezscale/platform/web"
)

// App is one running `ezscale` process.
type App struct {
	Config  *config.Config
	Logger  hclog.Logger
	DB      *database.DB
	Jobs    *jobs.Engine
	Metrics *prometheus.Registry
	Outbox  *outbox.Outbox
	Notify  *notify.Service
	// Community is the Discord community (invites, links, roles).
	Community *community.Service
	Limiter   *ratelimit.Limiter
	Accounts  *accounts.Service
	Catalog   *catalog.Catalog
	Billing   *billing.Billing
	Services  *services.Services
	Payments  *payments.Payments
	Budgets   *budget.Service
	// Plugins supervises the configured plugins; Run starts them.
	Plugins *pluginhost.Host
	// Scheduler is customer automation (tasks, windows, scheduled plan
	// changes, auto-recovery).
	Scheduler *scheduler.Service
	// Provisioning is power actions and SSO, the free tier and usage
	// collection.
	Provisioning *provisioning.Service
	// Monitoring watches game servers through the public listings
	// (monitor plugins).
	Monitoring *monitoring.Service
	// Support is the AI support assistant (assistant and helpdesk
	// plugins).
	Support *support.Service
	// Approvals is the high-risk gate: policies over staff actions and
	// dual approval.
	Approvals *approval.Service
	// Projects groups services into projects and keeps their
	// dependencies; billing asks it before ending a service others depend
	// on.
	Projects *projects.Service
	// Transfers moves services between accounts (core/transfers).
	Transfers *transfers.Service
	// Enterprise is enterprise requests, their quotes and private plans.
	Enterprise *enterprise.Service
	// Intents records backend actions before they are made and their
	// outcomes after (task runs, provisioning creates).
	Intents *intent.Store
	// Blobs keeps documents (content-addressed); Compliance is the SOC 2
	// evidence kept in it.
	Blobs      *blob.Store
	Compliance *compliance.Service
	HTTP       *httpapi.Server
	// Console serves the embedded web console (web/dist).
	Console *console.Handler

	server   *http.Server
	listener net.Listener
	// metrics serves /metrics on server.metrics_listen, when set.
	metricsServer   *http.Server
	metricsListener net.Listener
	closers         []func(context.Context) error
	// clock is the test clock of a test build (clock.go), else nil.
	clock testClock
}

// Option changes how New builds the application. Only tests use one.
type Option func(*buildOptions)

type buildOptions struct {
	now func() time.Time
}

// WithClock gives the application a clock other than the wall clock: the
// services that take one (those the end-to-end tests' clock drives, see
// clock.go) and the rate limits read the time from now; the job engine
// keeps the wall clock. The in-process API tests that count requests
// against a rate limit give one whose windows (a fixed hour, or quarter of
// an hour, of the clock) start with the test, so that none ends between
// the requests it counts.
func WithClock(now func() time.Time) Option {
	return func(o *buildOptions) { o.now = now }
}

// New opens the database, applies migrations and builds every service. It
// does not listen or start jobs; Run does.
func New(ctx context.Context, cfg *config.Config, logger hclog.Logger, options ...Option) (*App, error) {
	var built buildOptions
	for _, o := range options {
		o(&built)
	}
	a := &App{Config: cfg, Logger: logger, Metrics: prometheus.NewRegistry()}
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	db, err := database.Open(ctx, cfg.Database.URL, database.Options{MaxOpenConns: cfg.Database.MaxOpenConns, ReadConns: cfg.Database.ReadConns,
		Logger: logging.Slog(logger.Named("database"))})
	if err != nil {
		return nil, err
	}
	a.DB = db
	a.closers = append(a.closers, func(context.Context) error { return db.Close() })
	applied, err := db.Migrate(ctx, logging.Slog(logger.Named("migrate")))
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	if len(applied) > 0 {
		logger.Info("database migrated", "database", db.Name, "applied", len(applied))
	}

	reg := jobs.NewRegistry(cfg.Jobs.RescueAfter)
	if a.clock, err = loadTestClock(logger); err != nil {
		a.close(ctx)
		return nil, err
	}
	now := built.now // nil: each service's wall clock
	var riverTime rivertype.TimeGenerator
	if a.clock != nil {
		now, riverTime = a.clock.Now, a.clock
	}
	a.Limiter = ratelimit.New(db)
	if now != nil {
		a.Limiter = a.Limiter.WithClock(now)
	}
	// The host is created here so every service can hold it, but no plugin
	// process starts before Run: `ezscale admin create` and other commands
	// that build an App never start plugins.
	hostOpts := pluginhostOptions(cfg)
	hostOpts.Logger, hostOpts.Registerer = logger.Named("plugin"), a.Metrics
	// Each description's option declaration is stored, so plans and orders
	// can be checked against it while the plugin is down.
	optionStore := pluginoption.NewStore(db, nil)
	hostOpts.Described = func(name string, d *pb.DescribeResponse) {
		if err := optionStore.Record(context.Background(), name, d.GetVersion(), sdk.OptionsFromProto(d.GetOptions())); err != nil {
			logger.Named("plugin").Named(name).Warn("storing the plugin's option declaration", "error", err)
		}
	}
	a.Plugins, err = pluginhost.New(hostOpts)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.closers = append(a.closers, func(context.Context) error { a.Plugins.Stop(); return nil })
	nc := cfg.Notifications
	notifyOpts := notifyOptions(cfg)
	// The discord channel reaches its plugin through the host, and so
	// does email (the outbox's senders are fixed when notify builds it).
	notifyOpts.Logger, notifyOpts.Plugins = logger.Named("notify"), a.Plugins
	notifyOpts.Senders = emailSenders(cfg, a.Plugins, logger)
	a.Notify, err = notify.New(db, reg, notifyOpts)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.Outbox = a.Notify.Outbox()
	a.closers = append(a.closers, func(context.Context) error { a.Notify.Stop(); return nil })
	keyring, err := secretsKeyring(cfg, logger)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	accountsOpts := accountsOptions(cfg)
	accountsOpts.Secrets = keyring
	a.Accounts = accounts.New(db, a.Notify, a.Limiter, accountsOpts)
	// Two-factor secrets stored in plaintext (before encryption at rest)
	// are sealed now; rotation to a new key is `ezscale secrets rotate`.
	if n, err := a.Accounts.SealSecrets(ctx, false); err != nil {
		a.close(ctx)
		return nil, err
	} else if n > 0 {
		logger.Info("sealed plaintext two-factor secrets", "count", n)
	}
	registerHousekeeping(reg, db, a.Limiter)
	// The record of backend actions that the scheduler's runs and
	// provisioning's creates share (core/intent).
	a.Intents = intent.New(db, intent.Options{Logger: logger.Named("intent"), Now: now})
	a.Intents.RegisterPrune(reg)

	// The catalog: what is sold. A plan's provisioner and service type stay
	// while services run on it (billing's rule, given as the plan guard).
	a.Catalog = catalog.New(catalog.Deps{DB: db, Options: optionStore, Plugins: a.Plugins, PlanGuard: billing.KeepsBackendInUse}, catalog.Options{Now: now})
	// Services: the service records, their status machine and suspensions,
	// and the bookkeeping of their backends. Billing bills them.
	servicesOpts := servicesOptions(cfg)
	servicesOpts.Now = now
	a.Services = services.New(services.Deps{DB: db, Jobs: reg, Notifier: a.Notify, Catalog: a.Catalog, Accounts: a.Accounts},
		servicesOpts)
	a.Billing = billing.New(billing.Deps{DB: db, Jobs: reg, Notifier: a.Notify, Catalog: a.Catalog, Services: a.Services,
		Logger: logger.Named("billing")}, billingOptions(cfg))
	// Provisioning: everything said to a service's provisioner (the backend
	// jobs billing queues, power, SSO, usage) and the one description of a
	// service it is told.
	provisioningOpts := provisioningOptions(cfg)
	provisioningOpts.Now = now
	a.Provisioning = provisioning.New(provisioning.Deps{
		DB: db, Jobs: reg, Billing: a.Billing, Services: a.Services, Catalog: a.Catalog, Accounts: a.Accounts, Plugins: a.Plugins, Notifier: a.Notify,
		Intents: a.Intents,
		Logger:  logger.Named("provisioning"),
	}, provisioningOpts)
	// Payments: saved cards, charges, top-ups and refunds through the
	// payment gateway plugin, settling invoices and credit through billing.
	a.Payments = payments.New(payments.Deps{DB: db, Jobs: reg, Billing: a.Billing, Accounts: a.Accounts, Notifier: a.Notify, Gateways: a.Plugins,
		Logger: logger.Named("payments")})
	// Budget caps watch billing's credit ledger and orders and the
	// services' starts through their hooks, suspend through the services'
	// status machine, and ask payments which top-ups were automatic.
	a.Budgets = budget.New(db, a.Notify, a.Billing, a.Services, a.Payments, reg, budget.Options{})
	// The Discord community: roles follow what accounts hold (services)
	// across the accounts a user belongs to (accounts).
	a.Community = community.New(community.Deps{
		DB: db, Jobs: reg, Plugins: a.Plugins, Holdings: a.Services, Accounts: a.Accounts, Now: now,
	}, communityOptions(cfg))
	schedulerOpts := schedulerOptions(cfg)
	schedulerOpts.Now = now
	a.Scheduler = scheduler.New(scheduler.Deps{
		DB: db, Jobs: reg, Plugins: a.Plugins, Notifier: &scheduler.CenterNotifier{Center: a.Notify}, Intents: a.Intents,
		// Scheduled plan changes are applied by billing, with its proration;
		// core/services knows the services and provisioning describes them
		// to their provisioner.
		PlanChanger: billingPlanChanger{b: a.Billing}, Services: a.Services, Descriptions: a.Provisioning, Catalog: a.Catalog,
		Logger: logger.Named("scheduler"),
	}, schedulerOpts)

	a.Projects = projects.New(db, projects.ServicesOf(a.Services, db), projects.Options{Jobs: reg, Notifier: a.Notify, Now: now})

	transfersOpts := transfersOptions(cfg)
	transfersOpts.Now = now
	a.Transfers = transfers.New(transfers.Deps{DB: db, Billing: a.Billing, Directory: transfers.AccountsDirectory{Accounts: a.Accounts}, Notifier: a.Notify, Jobs: reg},
		transfersOpts)
	a.Enterprise = enterprise.New(db, a.Billing, a.Catalog, a.Notify, enterprise.Options{Now: now, Staff: a.Accounts})

	monitoringOpts := monitoringOptions(cfg)
	monitoringOpts.Now = now
	a.Monitoring = monitoring.New(monitoring.Deps{
		DB: db, Jobs: reg, Services: gameServices{s: a.Services}, Plugins: a.Plugins, Health: monitoringHealth(a.Scheduler),
		Logger: logger.Named("monitoring"),
	}, monitoringOpts)
	knowledge, err := support.LoadKnowledgeDir(cfg.Support.KnowledgeDir, support.KnowledgeOptions{
		BaseURL: cfg.Support.KnowledgeURL, Logger: logger.Named("support"), Now: now})
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.closers = append(a.closers, func(context.Context) error { return knowledge.Close() })
	if n := knowledge.Len(); n > 0 {
		logger.Info("support knowledge base loaded", "articles", n, "dir", cfg.Support.KnowledgeDir)
	}
	supportOpts := supportOptions(cfg)
	supportOpts.Now = now
	a.Support = support.New(support.Deps{
		DB: db, Jobs: reg, Limiter: a.Limiter, Plugins: a.Plugins, Billing: supportBilling{b: a.Billing, db: db},
		Activity: supportActivity{s: a.Scheduler}, Users: supportUsers{a: a.Accounts}, Notifier: a.Notify, Knowledge: knowledge,
		Logger: logger.Named("support"),
	}, supportOpts)
	a.wireReactions()
	if err := a.buildCompliance(ctx, reg, now); err != nil {
		a.close(ctx)
		return nil, err
	}

	// The high-risk gate: policies over staff actions, dual approval.
	approvalDeps := approval.Deps{DB: db, Notifier: a.Notify, Staff: a.Accounts, Jobs: reg}
	if keyring != nil {
		approvalDeps.Sealer = keyring
	}
	approvalOpts := approvalOptions(cfg)
	approvalOpts.Now = now
	a.Approvals = approval.New(approvalDeps, approvalOpts)

	jobErrors := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ezscale_job_errors_total", Help: "Failed job attempts by kind.",
	}, []string{"kind"})
	a.Metrics.MustRegister(jobErrors)
	jobsLog := logger.Named("jobs")
	jobsOpts := jobsOptions(cfg)
	jobsOpts.Logger, jobsOpts.Time = logging.SlogMin(jobsLog, slog.LevelWarn), riverTime
	jobsOpts.ErrorFunc = func(ctx context.Context, job *rivertype.JobRow, err error) {
		jobErrors.WithLabelValues(job.Kind).Inc()
		jobsLog.Warn("job attempt failed", "kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "error", err)
	}
	engine, err := jobs.New(db, reg, jobsOpts)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.Jobs = engine
	if capped := reg.Capped(); len(capped) > 0 {
		logger.Warn("job kinds' timeouts capped below the rescue horizon", "kinds", capped, "rescue_after", engine.RescueAfter().String())
	}

	var proxies []netip.Prefix
	for _, p := range cfg.Server.TrustedProxies {
		proxies = append(proxies, netip.MustParsePrefix(p))
	}
	a.HTTP = httpapi.New(httpapi.Deps{
		DB: db, Accounts: a.Accounts, Limiter: a.Limiter, Logger: logger.Named("http"), Registry: a.Metrics,
		Ready:           func(ctx context.Context) error { return db.PingContext(ctx) },
		ServiceActivity: a.Provisioning.RecordActivity,
		Approvals:       a.Approvals,
		AccountCurrency: func(ctx context.Context, accountID string) (string, error) {
			// An account with neither a balance nor a profile yet is billed
			// in the default currency.
			c, err := a.Billing.AccountCurrency(ctx, db.Read, accountID)
			if err == nil && c == "" {
				c = a.Billing.Options().Currency
			}
			return string(c), err
		},
	}, httpapi.Options{
		BodyLimit: cfg.Server.BodyLimit, TrustedProxies: proxies, RequestTimeout: cfg.Server.WriteTimeout,
		SensitiveLimit: cfg.Auth.LoginLimit, SensitiveWindow: cfg.Auth.LoginWindow, InvalidTokenLimit: cfg.Auth.InvalidTokenLimit,
		PublicURL: cfg.Server.PublicURL,
	}, &httpapi.PluginsAPI{Host: a.Plugins}, &httpapi.QueueAPI{Engine: engine}, &httpapi.CatalogAPI{Catalog: a.Catalog, Reach: a.Services}, &httpapi.BillingAPI{Billing: a.Billing, Services: a.Services, Projects: a.Projects}, &httpapi.PaymentsAPI{Payments: a.Payments}, &httpapi.NotificationsAPI{Notify: a.Notify, Projects: a.Projects}, &httpapi.CommunityAPI{Community: a.Community},
		&httpapi.SchedulerAPI{Scheduler: a.Scheduler, Projects: a.Projects}, &httpapi.BudgetAPI{Budgets: a.Budgets}, &httpapi.ProvisioningAPI{Provisioning: a.Provisioning, Projects: a.Projects}, &httpapi.ProjectsAPI{Projects: a.Projects},
		&httpapi.ComplianceAPI{Compliance: a.Compliance},
		&httpapi.TransfersAPI{Transfers: a.Transfers}, &httpapi.EnterpriseAPI{Enterprise: a.Enterprise},
		&httpapi.MonitoringAPI{Monitoring: a.Monitoring}, &httpapi.SupportAPI{Support: a.Support},
		&httpapi.InstanceAPI{ProductName: nc.ProductName, MailURL: cfg.Sandbox.MailURL},
		&httpapi.ApprovalsAPI{Approvals: a.Approvals})
	if a.Console, err = console.New(web.Dist()); err != nil {
		a.close(ctx)
		return nil, fmt.Errorf("loading the web console: %w", err)
	}
	return a, nil
}

// Listen binds the configured addresses (":0" picks a free port): the API's
// and, when server.metrics_listen is set, the metrics'.
func (a *App) Listen() error {
	l, err := net.Listen("tcp", a.Config.Server.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.Config.Server.Listen, err)
	}
	if ml := a.Config.Server.MetricsListen; ml != "" {
		m, err := net.Listen("tcp", ml)
		if err != nil {
			_ = l.Close()
			return fmt.Errorf("listening for metrics on %s: %w", ml, err)
		}
		a.metricsListener = m
	}
	a.listener = l
	return nil
}

// Addr is the bound address, after Listen.
func (a *App) Addr() string { return a.listener.Addr().String() }

// MetricsAddr is the bound metrics address after Listen, "" without
// server.metrics_listen.
func (a *App) MetricsAddr() string {
	if a.metricsListener == nil {
		return ""
	}
	return a.metricsListener.Addr().String()
}

// Handler is the API listener's HTTP surface: the API (with the probes), the
// web console on every other path, and /metrics only when metrics have no
// listener of their own and a metrics token guards them. The API listener is
// public; open metrics would tell anyone the routes, traffic and plugin
// health of the platform. Without them /metrics is the API's 404, never a
// console page.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	api := a.HTTP.Handler()
	for _, p := range []string{"/api/", "/healthz", "/readyz"} {
		mux.Handle(p, api)
	}
	if a.Config.Server.MetricsListen == "" && a.Config.Server.MetricsToken != "" {
		mux.Handle("/metrics", a.MetricsHandler())
	} else {
		mux.Handle("/metrics", api)
	}
	mux.Handle("/", a.Console)
	return mux
}

// MetricsHandler serves the Prometheus metrics, behind server.metrics_token
// ("Authorization: Bearer …") when one is set.
func (a *App) MetricsHandler() http.Handler {
	h := promhttp.HandlerFor(a.Metrics, promhttp.HandlerOpts{Registry: a.Metrics})
	token := a.Config.Server.MetricsToken
	if token == "" {
		return h
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the metrics token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Run starts the plugins and the job engine and serves HTTP until ctx ends,
// then shuts down gracefully: stop accepting, finish in-flight requests,
// stop jobs (running ones finish or are cancelled and retried later), stop
// every plugin process, close the database. A plugin config its plugin
// refuses ends Run with a *PluginConfigError before anything is served;
// other plugin failures do not stop the platform (see StartPlugins).
func (a *App) Run(ctx context.Context) error {
	if a.listener == nil {
		if err := a.Listen(); err != nil {
			a.close(ctx)
			return err
		}
	}
	// Plugins start before the job engine, so the first jobs find them
	// running; the listener is already bound, so early requests wait in
	// its backlog rather than being refused.
	if err := a.StartPlugins(ctx); err != nil {
		a.closeListeners()
		a.close(ctx)
		return err
	}
	// Each replica keeps its own knowledge index in memory, so each
	// checks the folder itself (not a job, which runs on one replica).
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		a.Support.WatchKnowledge(watchCtx)
	}()
	a.closers = append(a.closers, func(context.Context) error { stopWatch(); <-watched; return nil })
	if !a.Config.Jobs.Disabled {
		// River cancels running jobs when its start context ends; the jobs
		// must instead get the graceful Stop below, so they run under a
		// context that the shutdown signal does not cancel.
		a.Logger.Info("jobs starting", "rescue_after", a.Jobs.RescueAfter().String())
		if err := a.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
			a.closeListeners()
			a.close(ctx)
			return err
		}
		a.watchTestClock(ctx)
	}
	a.server = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       a.Config.Server.ReadTimeout,
		WriteTimeout:      a.Config.Server.WriteTimeout + 5*time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          a.Logger.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	// Live notification streams never go idle: end them when shutdown
	// starts, or Shutdown would wait for its whole timeout.
	a.server.RegisterOnShutdown(a.Notify.Stop)
	errc := make(chan error, 2)
	go func() { errc <- a.server.Serve(a.listener) }()
	a.Logger.Info("serving", "addr", a.Addr(), "database", a.DB.Name, "public_url", a.Config.Server.PublicURL)
	switch {
	case a.metricsListener != nil:
		mux := http.NewServeMux()
		mux.Handle("/metrics", a.MetricsHandler())
		a.metricsServer = &http.Server{
			Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: a.Config.Server.ReadTimeout,
			WriteTimeout: a.Config.Server.WriteTimeout, IdleTimeout: 2 * time.Minute,
			ErrorLog: a.Logger.Named("metrics").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
		}
		go func() { errc <- a.metricsServer.Serve(a.metricsListener) }()
		a.Logger.Info("serving metrics", "addr", a.MetricsAddr(), "token", a.Config.Server.MetricsToken != "")
	case a.Config.Server.MetricsToken != "":
		a.Logger.Info("serving metrics on the API listener, behind the metrics token")
	default:
		a.Logger.Info("metrics are off: set server.metrics_listen or server.metrics_token to serve /metrics")
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.Logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config.Server.ShutdownTimeout)
	defer cancel()
	if err := a.server.Shutdown(shutdownCtx); err != nil {
		a.Logger.Warn("http shutdown", "error", err)
	}
	if a.metricsServer != nil {
		if err := a.metricsServer.Shutdown(shutdownCtx); err != nil {
			a.Logger.Warn("metrics shutdown", "error", err)
		}
	}
	if err := a.Jobs.Stop(shutdownCtx); err != nil {
		a.Logger.Warn("job engine shutdown", "error", err)
	}
	a.close(shutdownCtx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// closeListeners releases what Listen bound, for a Run that ends before
// serving.
func (a *App) closeListeners() {
	_ = a.listener.Close()
	if a.metricsListener != nil {
		_ = a.metricsListener.Close()
	}
}

// Close releases everything New opened, for callers that never Run.
func (a *App) Close() { a.close(context.Background()) }

func (a *App) close(ctx context.Context) {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](ctx); err != nil {
			a.Logger.Warn("closing", "error", err)
		}
	}
	a.closers = nil
}
