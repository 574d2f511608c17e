// Package config loads the platform's configuration: HCL2 files layered with
// koanf as defaults < file < EZSCALE_<BLOCK>_<KEY> environment variables.
//
// Every setting lives in a block (server, database, …) and is named by a
// koanf tag on the block's struct; the HCL schema, the environment names and
// the error suggestions are all derived from those tags, so adding a field here
// is the whole change needed to add a setting.
package config

import (
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/monitoring"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/core/transfers"
	"github.com/ezscale/platform/sdk"
)

// Config is the whole configuration of one `ezscale` process.
type Config struct {
	Server        Server        `koanf:"server"`
	Database      Database      `koanf:"database"`
	Log           Log           `koanf:"log"`
	Jobs          Jobs          `koanf:"jobs"`
	Auth          Auth          `koanf:"auth"`
	Plugins       PluginHost    `koanf:"plugins"`
	Billing       Billing       `koanf:"billing"`
	Scheduler     Scheduler     `koanf:"scheduler"`
	Notifications Notifications `koanf:"notifications"`
	Provisioning  Provisioning  `koanf:"provisioning"`
	Monitoring    Monitoring    `koanf:"monitoring"`
	Support       Support       `koanf:"support"`
	Approvals     Approvals     `koanf:"approvals"`
	Sandbox       Sandbox       `koanf:"sandbox"`
	Blob          Blob          `koanf:"blob"`
	Compliance    Compliance    `koanf:"compliance"`
	Transfers     Transfers     `koanf:"transfers"`

	// Plugin holds the `plugin "NAME" {…}` blocks in file order. They are not
	// part of the koanf tree because their config bodies are free-form.
	Plugin []Plugin `koanf:"-"`

	// Reattach maps plugin block names to plugins already running (started
	// by hand in debug mode, or served in process by a test), which the
	// plugin host attaches to instead of starting them. Nil: read from
	// EZSCALE_REATTACH_PLUGINS.
	Reattach map[string]sdk.ReattachConfig `koanf:"-"`

	// Sources says where each setting came from, for error messages:
	// "file.hcl:3:12", "env EZSCALE_SERVER_LISTEN" or "default".
	Sources map[string]string `koanf:"-"`
}

// Server configures the HTTP listener.
type Server struct {
	Listen          string        `koanf:"listen"`
	PublicURL       string        `koanf:"public_url"`
	ReadTimeout     time.Duration `koanf:"read_timeout"`
	WriteTimeout    time.Duration `koanf:"write_timeout"`
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// BodyLimit caps request bodies, in bytes.
	BodyLimit int64 `koanf:"body_limit"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed when
	// recording the client IP for audit and rate limits.
	TrustedProxies []string `koanf:"trusted_proxies"`
	// MetricsListen, when set, serves Prometheus /metrics on this address
	// only (keep it private: an internal interface or loopback), never on
	// the API listener.
	MetricsListen string `koanf:"metrics_listen"`
	// MetricsToken, when set, is required as "Authorization: Bearer …" on
	// /metrics; without MetricsListen it puts /metrics on the API listener
	// behind it. With neither set, metrics are not served at all. Set it
	// from env("…").
	MetricsToken string `koanf:"metrics_token"`
}

// Database selects the storage.
type Database struct {
	// URL is "sqlite:PATH" (the default, embedded) or "postgres://…".
	URL          string `koanf:"url"`
	MaxOpenConns int    `koanf:"max_open_conns"`
	// ReadConns is the size of SQLite's read-only WAL connection pool.
	ReadConns int `koanf:"read_conns"`
}

// Log configures go-hclog.
type Log struct {
	Level string `koanf:"level"`
	// Format is auto (JSON unless stderr is a terminal), json or text.
	Format string `koanf:"format"`
}

// Jobs tunes the River job engine.
type Jobs struct {
	Workers           int           `koanf:"workers"`
	FetchCooldown     time.Duration `koanf:"fetch_cooldown"`
	FetchPollInterval time.Duration `koanf:"fetch_poll_interval"`
	// RescueAfter is how long a running job may go without finishing before
	// another replica rescues it; every kind's timeout stays below it. 0
	// (the default) derives it from the kinds' timeouts, each then at most
	// 2m: the longest plus a tenth (at least 30 s), so the work of a crashed
	// replica resumes within 5 minutes.
	RescueAfter time.Duration `koanf:"rescue_after"`
	// DefaultTimeout applies to job kinds that do not set their own.
	DefaultTimeout time.Duration `koanf:"default_timeout"`
	// Disabled turns the job engine off in this process (an API-only replica).
	Disabled bool `koanf:"disabled"`
}

// Auth configures sessions and the sensitive-flow rate limits.
type Auth struct {
	SessionTTL time.Duration `koanf:"session_ttl"`
	// LoginLimit attempts per LoginWindow per IP; after LoginLimit failed
	// logins of one account within LoginWindow the account is slowed down
	// (a password and second factor still pass).
	LoginLimit  int           `koanf:"login_limit"`
	LoginWindow time.Duration `koanf:"login_window"`
	// SignupLimit per IP per LoginWindow.
	SignupLimit int `koanf:"signup_limit"`
	// InvalidTokenLimit refused bearer tokens per IP per LoginWindow;
	// beyond it the address gets 429s and is audited once.
	InvalidTokenLimit int `koanf:"invalid_token_limit"`
	// ResetTokenTTL bounds password-reset and email-verification links.
	ResetTokenTTL time.Duration `koanf:"reset_token_ttl"`
	// TOTPIssuer is shown in authenticator apps.
	TOTPIssuer string `koanf:"totp_issuer"`
	// ResetEmailLimit password-reset emails per recipient per
	// ResetEmailWindow; requests beyond it send nothing (and answer the
	// same, so the limit reveals nothing).
	ResetEmailLimit  int           `koanf:"reset_email_limit"`
	ResetEmailWindow time.Duration `koanf:"reset_email_window"`
	// SecretsKey seals TOTP secrets at rest (AES-256-GCM): base64 of 32
	// random bytes (`ezscale secrets generate`). It comes from the
	// environment only (EZSCALE_AUTH_SECRETS_KEY, or env("…") in the file).
	// Empty: with SQLite, a key generated into secrets.key beside the
	// database file; with PostgreSQL, two-factor enrollment is unavailable.
	SecretsKey string `koanf:"secrets_key"`
	// SecretsPreviousKeys still open secrets sealed before a rotation
	// (`ezscale secrets rotate`); environment only, like SecretsKey.
	SecretsPreviousKeys []string `koanf:"secrets_previous_keys"`
}

// PluginHost holds settings shared by every plugin.
type PluginHost struct {
	CallTimeout    time.Duration `koanf:"call_timeout"`
	HealthInterval time.Duration `koanf:"health_interval"`
	// DataDir holds one private directory per plugin block,
	// DataDir/<name>/ (created 0700), given to the plugin process as
	// EZSCALE_PLUGIN_DATA_DIR and kept across restarts and upgrades: the
	// SDK records outcomes of calls to key-less backends there.
	DataDir string `koanf:"data_dir"`
}

// Billing configures invoices and the overdue policy.
type Billing struct {
	Currency string `koanf:"currency"`
	// InvoiceDaysBefore is how many days before a service's due date its
	// renewal invoice is generated.
	InvoiceDaysBefore  int `koanf:"invoice_days_before"`
	SuspendAfterDays   int `koanf:"suspend_after_days"`
	TerminateAfterDays int `koanf:"terminate_after_days"`
	// RunAt is the daily billing run's time of day (UTC, "HH:MM").
	RunAt string `koanf:"run_at"`
	// PaymentGateway names the payment gateway plugin block ("stripe");
	// empty turns card payments off.
	PaymentGateway string `koanf:"payment_gateway"`
	// ChargeMaxAttempts automatic charges of an invoice, one every
	// ChargeRetryDays.
	ChargeMaxAttempts int `koanf:"charge_max_attempts"`
	ChargeRetryDays   int `koanf:"charge_retry_days"`
	// RemindEveryDays spaces overdue reminders.
	RemindEveryDays int `koanf:"remind_every_days"`
	// ProvisionMaxAttempts bounds provisioning (and backend sync) retries,
	// with backoff doubling from RetryBase.
	ProvisionMaxAttempts int           `koanf:"provision_max_attempts"`
	RetryBase            time.Duration `koanf:"retry_base"`
	// InstallPollInterval spaces the readiness checks of a service created
	// at its backend but still installing; InstallTimeout fails it (and
	// refunds a paid order) when it is not ready by then.
	InstallPollInterval time.Duration `koanf:"install_poll_interval"`
	InstallTimeout      time.Duration `koanf:"install_timeout"`
	// AutoTopUpMaxFailures failed automatic top-ups in a row disable it.
	AutoTopUpMaxFailures int `koanf:"auto_topup_max_failures"`
	// MaxOpenOrders bounds an account's unpaid orders: one more is refused
	// until one is paid or cancelled.
	MaxOpenOrders int `koanf:"max_open_orders"`
}

// Scheduler configures customer automation.
type Scheduler struct {
	// RecoveryInterval is how often auto-recovery checks each service.
	RecoveryInterval time.Duration `koanf:"recovery_interval"`
	// JobTimeout bounds one execution of a task, a recovery check or a plan
	// change (plugin call included); it stays below jobs.rescue_after.
	JobTimeout time.Duration `koanf:"job_timeout"`
	// RetryBase is the delay before a failed task's first retry, doubling
	// per attempt up to RetryMax.
	RetryBase time.Duration `koanf:"retry_base"`
	RetryMax  time.Duration `koanf:"retry_max"`
	// BatchSize is how many due tasks one transaction turns into runs.
	BatchSize int `koanf:"batch_size"`
	// RunsPerJob is how many runs due together one job executes, their
	// provisioner calls concurrently: a replica makes at most
	// jobs.workers × runs_per_job task calls at once.
	RunsPerJob int `koanf:"runs_per_job"`
	// Lookahead is how far ahead of their due time the due-tasks job
	// (every minute) makes runs and their jobs, so the queue is ready when
	// a busy minute starts; 0 makes them when due.
	Lookahead time.Duration `koanf:"lookahead"`
	// CheckTimeout bounds one auto-recovery probe (HTTP, TCP or ping).
	CheckTimeout time.Duration `koanf:"check_timeout"`
	// RecheckAfter is the pause before a failed auto-recovery probe is
	// repeated; only a second failure in a row counts as down.
	RecheckAfter time.Duration `koanf:"recheck_after"`
	// RecoveryAllowPrivate lets auto-recovery probe loopback, private,
	// link-local and every other special-purpose address. Off by default:
	// customer-supplied targets must not reach the core's own network
	// (SSRF).
	RecoveryAllowPrivate bool `koanf:"recovery_allow_private"`
}

// Notifications configures the notification center.
type Notifications struct {
	// TemplatesDir overrides built-in templates file by file.
	TemplatesDir string `koanf:"templates_dir"`
	// EmailPlugin names the notifier plugin that delivers email.
	EmailPlugin string `koanf:"email_plugin"`
	// ProductName appears in every message ("EZSCALE").
	ProductName string `koanf:"product_name"`
	// DiscordPlugin names the notifier plugin behind the discord channel
	// (admin alerts to its webhook, customers' own webhooks); "" = off.
	DiscordPlugin string `koanf:"discord_plugin"`
	// CommunityPlugin names the community plugin (signup invites, account
	// linking, role sync); "" = off.
	CommunityPlugin string `koanf:"community_plugin"`
	// AdminAlerts are the notification types also posted to the admin
	// Discord webhook (admin.alert always is).
	AdminAlerts []string `koanf:"admin_alerts"`
	// UnsubscribeSecret signs unsubscribe links; empty = a random key kept
	// in the database. Set it from env("…") if you set it.
	UnsubscribeSecret string `koanf:"unsubscribe_secret"`
	// UnsubscribeMailto adds a mailto: address to List-Unsubscribe (an
	// inbox you process); empty = the https one-click URL only.
	UnsubscribeMailto string `koanf:"unsubscribe_mailto"`
	// StreamPollInterval is how often each replica looks for changes to
	// push to live streams; StreamHeartbeat the keep-alive period;
	// StreamMaxDuration the longest life of one stream (clients reconnect).
	StreamPollInterval time.Duration `koanf:"stream_poll_interval"`
	StreamHeartbeat    time.Duration `koanf:"stream_heartbeat"`
	StreamMaxDuration  time.Duration `koanf:"stream_max_duration"`
	// StreamMaxPerUser caps one user's open streams across all replicas;
	// one more is answered 429.
	StreamMaxPerUser int `koanf:"stream_max_per_user"`
	// InviteMaxAge is the life of a signup Discord invite.
	InviteMaxAge time.Duration `koanf:"invite_max_age"`
	// RoleSyncInterval is how often every linked user's Discord roles are
	// recomputed.
	RoleSyncInterval time.Duration `koanf:"role_sync_interval"`
	// Retention is how long in-app notifications are kept; ReadRetention
	// how long once read.
	Retention     time.Duration `koanf:"retention"`
	ReadRetention time.Duration `koanf:"read_retention"`
}

// Approvals configures the high-risk gate's dual approval
// (docs/approvals.md).
type Approvals struct {
	// TTL is how long a held request waits for a second staff member.
	TTL time.Duration `koanf:"ttl"`
	// ExpireInterval spaces the sweeps that expire undecided approvals.
	ExpireInterval time.Duration `koanf:"expire_interval"`
}

// Provisioning configures power actions, the free tier and usage
// collection (docs/provisioning.md).
type Provisioning struct {
	// FreeTierInactivity: a free-tier service unused this long is
	// terminated (after a warning).
	FreeTierInactivity time.Duration `koanf:"free_tier_inactivity"`
	// FreeTierWarnBefore: the customer is warned this long before, and a
	// termination always follows its warning by at least this long.
	FreeTierWarnBefore time.Duration `koanf:"free_tier_warn_before"`
	// SweepInterval spaces the free-tier inactivity sweeps.
	SweepInterval time.Duration `koanf:"sweep_interval"`
	// UsageInterval spaces usage collections; "0s" turns collection off.
	UsageInterval time.Duration `koanf:"usage_interval"`
	// UsageRetention is how long usage samples are kept.
	UsageRetention time.Duration `koanf:"usage_retention"`
	// UsageBatch services are sampled and written per batch.
	UsageBatch int `koanf:"usage_batch"`
	// UsageConcurrency bounds the Usage calls in flight per collection.
	UsageConcurrency int `koanf:"usage_concurrency"`
	// CallTimeout bounds one provisioner call made for a customer request
	// (power, login) or a usage sample.
	CallTimeout time.Duration `koanf:"call_timeout"`
}

// Transfers configures service transfers between accounts
// (docs/transfers.md).
type Transfers struct {
	// RequireStaffApproval: an accepted transfer waits for staff to approve
	// it; false: the receiver's acceptance completes it.
	RequireStaffApproval bool `koanf:"require_staff_approval"`
	// TTL: a transfer not completed this long after it was asked expires.
	TTL time.Duration `koanf:"ttl"`
	// SweepInterval spaces the sweeps that record expired transfers.
	SweepInterval time.Duration `koanf:"sweep_interval"`
}

// Monitoring configures game-server monitoring through the monitor plugins
// (docs/monitoring.md).
type Monitoring struct {
	// Plugins name the monitor plugin blocks, preferred first (their
	// numbers are shown when several have a fresh reading); empty turns
	// monitoring off.
	Plugins []string `koanf:"plugins"`
	// Interval spaces one server's samples; Jitter moves each by up to half
	// of it either way, so samples spread out.
	Interval time.Duration `koanf:"interval"`
	Jitter   time.Duration `koanf:"jitter"`
	// Concurrency bounds the plugin calls in flight; Batch monitors are
	// sampled and written per transaction.
	Concurrency int `koanf:"concurrency"`
	Batch       int `koanf:"batch"`
	// CallTimeout bounds one plugin call.
	CallTimeout time.Duration `koanf:"call_timeout"`
	// Retention is how long samples are kept (the 30-day chart needs 30
	// days).
	Retention time.Duration `koanf:"retention"`
	// DownAfter consecutive samples in which a listing shows a running
	// server down raise the health alert (as auto-recovery's checks do).
	DownAfter int `koanf:"down_after"`
	// AttachInterval spaces the sweeps that give new game services a
	// monitor.
	AttachInterval time.Duration `koanf:"attach_interval"`
}

// Support configures the AI support assistant (docs/support.md).
type Support struct {
	// Assistant names the assistant plugin block (Anthropic); empty turns
	// the assistant off. Helpdesk names the helpdesk plugin block
	// (SupportPal); empty: conversations cannot be handed to a human.
	Assistant string `koanf:"assistant"`
	Helpdesk  string `koanf:"helpdesk"`
	// KnowledgeDir is the folder of markdown articles the assistant answers
	// from (indexed at start, and again when the folder changes);
	// KnowledgeURL, when set, is the public address the articles are under
	// (KnowledgeURL/<path without .md>), shown with citations.
	KnowledgeDir string `koanf:"knowledge_dir"`
	KnowledgeURL string `koanf:"knowledge_url"`
	// KnowledgeInterval spaces the checks of KnowledgeDir for added,
	// edited or removed articles (each replica checks its own index).
	KnowledgeInterval time.Duration `koanf:"knowledge_interval"`
	// Articles is how many of the best-matching articles go with a
	// question.
	Articles int `koanf:"articles"`
	// Retention: conversations idle for longer are deleted.
	Retention time.Duration `koanf:"retention"`
	// AskLimit questions per user per AskWindow (and as many replies to
	// the support team on escalated conversations, counted apart).
	AskLimit  int           `koanf:"ask_limit"`
	AskWindow time.Duration `koanf:"ask_window"`
	// DailyTokens caps the tokens an account's questions may spend per UTC
	// day.
	DailyTokens int64 `koanf:"daily_tokens"`
	// MaxQuestion is the longest question, in characters.
	MaxQuestion int `koanf:"max_question"`
	// PollInterval spaces the polls of open tickets for operator replies.
	PollInterval time.Duration `koanf:"poll_interval"`
	// AnswerTimeout bounds one streamed answer.
	AnswerTimeout time.Duration `koanf:"answer_timeout"`
}

// Sandbox describes the tools beside a sandbox (`make demo`, docs/demo.md)
// that its people may open. Outside a sandbox it stays empty.
type Sandbox struct {
	// MailURL is the web inbox of the mail catcher the email plugin sends
	// to; GET /api/v1/instance shows it so the console can link to it.
	MailURL string `koanf:"mail_url"`
}

// Blob says where documents (SOC 2 evidence, policies) are kept: the
// local filesystem, or an S3-compatible bucket. S3 credentials come from
// the environment only (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN), never from this block (docs/compliance.md).
type Blob struct {
	// Backend is "file" or "s3".
	Backend string `koanf:"backend"`
	// Dir is the file backend's directory.
	Dir string `koanf:"dir"`
	// Endpoint is the S3 endpoint URL ("" = AWS's own for the region).
	Endpoint string `koanf:"endpoint"`
	Region   string `koanf:"region"`
	Bucket   string `koanf:"bucket"`
	// PathStyle addresses the bucket as endpoint/bucket/key, as most
	// S3-compatible servers want.
	PathStyle bool `koanf:"path_style"`
	// Prefix is put before every key.
	Prefix string `koanf:"prefix"`
}

// Compliance configures the SOC 2 evidence (docs/compliance.md).
type Compliance struct {
	// UploadLimit bounds one uploaded document, in bytes.
	UploadLimit int64 `koanf:"upload_limit"`
	// ReminderLead: the staff owners are reminded this long before a
	// policy review or a vendor assessment falls due.
	ReminderLead time.Duration `koanf:"reminder_lead"`
}

// Plugin is one `plugin "NAME" { path, sha256, config {…} }` block.
type Plugin struct {
	Name    string
	Path    string
	SHA256  string
	Enabled bool
	// Config is the plugin's own settings, validated later against the
	// schema the plugin describes.
	Config map[string]any
	// Positions maps "path", "sha256" and each config key to where it was set.
	Positions map[string]string
	// Pos is where the block starts.
	Pos string
}

// Default is the configuration of `make run`: SQLite under data/, loopback.
// Each domain's settings are composed from that domain's own defaults
// (DefaultOptions), so the core and the domains' tests run in one mode.
func Default() Config {
	jd := jobs.DefaultOptions()
	ad := accounts.DefaultOptions()
	pd := pluginhost.DefaultOptions()
	bd := billing.DefaultOptions()
	sv := services.DefaultOptions()
	sd := scheduler.DefaultOptions()
	vd := provisioning.DefaultOptions()
	nd := notify.DefaultOptions()
	comm := community.DefaultOptions()
	bl := blob.DefaultOptions()
	cd := compliance.DefaultOptions()
	td := transfers.DefaultOptions()
	md := monitoring.DefaultOptions()
	spd := support.DefaultOptions()
	apd := approval.DefaultOptions()
	adminAlerts := make([]string, len(nd.AdminAlerts))
	for i, t := range nd.AdminAlerts {
		adminAlerts[i] = string(t)
	}
	return Config{
		Server: Server{
			Listen:          "127.0.0.1:8080",
			PublicURL:       "http://127.0.0.1:8080",
			ReadTimeout:     15 * time.Second,
			WriteTimeout:    60 * time.Second,
			ShutdownTimeout: 20 * time.Second,
			BodyLimit:       1 << 20,
			TrustedProxies:  []string{},
		},
		Database: Database{URL: "sqlite:data/ezscale.db", MaxOpenConns: 20, ReadConns: 4},
		Log:      Log{Level: "info", Format: "auto"},
		Jobs: Jobs{
			Workers:           jd.Workers,
			FetchCooldown:     jd.FetchCooldown,
			FetchPollInterval: jd.FetchPollInterval,
			RescueAfter:       jd.RescueAfter,
			DefaultTimeout:    jd.DefaultTimeout,
		},
		Auth: Auth{
			SessionTTL:          ad.SessionTTL,
			LoginLimit:          ad.LoginLimit,
			InvalidTokenLimit:   30,
			LoginWindow:         ad.LoginWindow,
			SignupLimit:         ad.SignupLimit,
			ResetTokenTTL:       ad.ResetTokenTTL,
			TOTPIssuer:          ad.TOTPIssuer,
			ResetEmailLimit:     ad.ResetEmailLimit,
			ResetEmailWindow:    ad.ResetEmailWindow,
			SecretsPreviousKeys: []string{},
		},
		Plugins: PluginHost{CallTimeout: pd.CallTimeout, HealthInterval: pd.HealthInterval, DataDir: pd.DataDir},
		Billing: Billing{
			Currency:             string(bd.Currency),
			InvoiceDaysBefore:    bd.InvoiceDaysBefore,
			SuspendAfterDays:     bd.SuspendAfterDays,
			TerminateAfterDays:   bd.TerminateAfterDays,
			RunAt:                bd.RunAt,
			ChargeMaxAttempts:    bd.ChargeMaxAttempts,
			ChargeRetryDays:      bd.ChargeRetryDays,
			RemindEveryDays:      bd.RemindEveryDays,
			ProvisionMaxAttempts: sv.ProvisionMaxAttempts,
			RetryBase:            bd.RetryBase,
			InstallPollInterval:  sv.InstallPollInterval,
			InstallTimeout:       sv.InstallTimeout,
			AutoTopUpMaxFailures: bd.AutoTopUpMaxFailures,
			MaxOpenOrders:        bd.MaxOpenOrders,
		},
		Scheduler: Scheduler{
			RecoveryInterval: sd.RecoveryInterval,
			JobTimeout:       sd.JobTimeout,
			RetryBase:        sd.RetryBase,
			RetryMax:         sd.RetryMax,
			BatchSize:        sd.BatchSize,
			RunsPerJob:       sd.RunsPerJob,
			Lookahead:        sd.Lookahead,
			CheckTimeout:     sd.CheckTimeout,
			RecheckAfter:     sd.RecheckAfter,
		},
		Provisioning: Provisioning{
			FreeTierInactivity: vd.FreeTierInactivity,
			FreeTierWarnBefore: vd.FreeTierWarnBefore,
			SweepInterval:      vd.SweepInterval,
			UsageInterval:      vd.UsageInterval,
			UsageRetention:     vd.UsageRetention,
			UsageBatch:         vd.UsageBatch,
			UsageConcurrency:   vd.UsageConcurrency,
			CallTimeout:        vd.CallTimeout,
		},
		Blob:       Blob{Backend: bl.Backend, Dir: bl.Dir, Region: bl.Region},
		Compliance: Compliance{UploadLimit: cd.UploadLimit, ReminderLead: cd.ReminderLead},
		Monitoring: Monitoring{
			Plugins:        []string{},
			Interval:       md.Interval,
			Jitter:         md.Jitter,
			Concurrency:    md.Concurrency,
			Batch:          md.Batch,
			CallTimeout:    md.CallTimeout,
			Retention:      md.Retention,
			DownAfter:      md.DownAfter,
			AttachInterval: md.AttachInterval,
		},
		Support: Support{Articles: spd.Articles, Retention: spd.Retention, AskLimit: spd.AskLimit, AskWindow: spd.AskWindow,
			DailyTokens: spd.DailyTokens, MaxQuestion: spd.MaxQuestion, PollInterval: spd.PollInterval, AnswerTimeout: spd.AnswerTimeout,
			KnowledgeInterval: spd.KnowledgeInterval},
		Approvals: Approvals{TTL: apd.TTL, ExpireInterval: apd.ExpireEvery},
		Notifications: Notifications{
			EmailPlugin:        "email",
			ProductName:        nd.ProductName,
			AdminAlerts:        adminAlerts,
			StreamPollInterval: nd.StreamPollInterval,
			StreamHeartbeat:    nd.StreamHeartbeat,
			StreamMaxDuration:  nd.StreamMaxDuration,
			StreamMaxPerUser:   nd.StreamMaxPerUser,
			InviteMaxAge:       comm.InviteMaxAge,
			RoleSyncInterval:   comm.RoleSyncInterval,
			Retention:          nd.Retention,
			ReadRetention:      nd.ReadRetention,
		},
		Transfers: Transfers{
			RequireStaffApproval: td.RequireStaffApproval,
			TTL:                  td.TTL,
			SweepInterval:        td.SweepInterval,
		},
	}
}
