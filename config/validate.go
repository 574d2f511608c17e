package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// minMetricsToken is the shortest metrics token accepted: a guessable
// token would open the metrics to anyone who can reach the listener.
const minMetricsToken = 24

var (
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	sha256Re   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	clockRe    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// validate checks values that types alone cannot, naming where each bad
// value was set.
func (c *Config) validate(errs *Error) {
	bad := func(path, format string, args ...any) {
		pos := c.Sources[path]
		if pos == "default" {
			pos = ""
		}
		errs.add(pos, "Invalid value for "+path, fmt.Sprintf(format, args...))
	}
	if _, _, err := net.SplitHostPort(c.Server.Listen); err != nil {
		bad("server.listen", "%q is not host:port", c.Server.Listen)
	}
	if u, err := url.Parse(c.Server.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("server.public_url", "%q is not an http(s) URL", c.Server.PublicURL)
	}
	if c.Server.BodyLimit <= 0 {
		bad("server.body_limit", "must be positive")
	}
	if c.Server.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.Server.MetricsListen); err != nil {
			bad("server.metrics_listen", "%q is not host:port", c.Server.MetricsListen)
		} else if c.Server.MetricsListen == c.Server.Listen {
			bad("server.metrics_listen", "must differ from server.listen: metrics get a listener of their own")
		}
	}
	if t := c.Server.MetricsToken; t != "" && (len(t) < minMetricsToken || strings.TrimSpace(t) != t) {
		bad("server.metrics_token", "must be at least %d characters without surrounding spaces (a random secret, from env(\"…\"))", minMetricsToken)
	}
	for _, p := range c.Server.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			bad("server.trusted_proxies", "%q is not a CIDR such as 10.0.0.0/8", p)
		}
	}
	positive := func(path string, d time.Duration) {
		if d <= 0 {
			bad(path, "must be positive")
		}
	}
	positive("server.read_timeout", c.Server.ReadTimeout)
	positive("server.write_timeout", c.Server.WriteTimeout)
	positive("server.shutdown_timeout", c.Server.ShutdownTimeout)

	switch {
	case strings.HasPrefix(c.Database.URL, "sqlite:"):
		if strings.TrimPrefix(c.Database.URL, "sqlite:") == "" {
			bad("database.url", "sqlite: needs a path, e.g. sqlite:data/ezscale.db")
		}
	case strings.HasPrefix(c.Database.URL, "postgres://"), strings.HasPrefix(c.Database.URL, "postgresql://"):
		if _, err := url.Parse(c.Database.URL); err != nil {
			bad("database.url", "not a valid postgres:// URL")
		}
	default:
		bad("database.url", "use sqlite:PATH or postgres://USER@HOST/DB")
	}
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1")
	}
	if c.Database.ReadConns < 1 {
		bad("database.read_conns", "must be at least 1")
	}

	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: use trace, debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "json", "text":
	default:
		bad("log.format", "%q: use auto, json or text", c.Log.Format)
	}

	if c.Jobs.Workers < 1 {
		bad("jobs.workers", "must be at least 1")
	}
	positive("jobs.fetch_cooldown", c.Jobs.FetchCooldown)
	positive("jobs.fetch_poll_interval", c.Jobs.FetchPollInterval)
	// A timeout longer than this under a derived rescue horizon (0) would
	// make a crashed replica's work wait longer than 5 minutes.
	const derivedMax = 2 * time.Minute
	switch {
	case c.Jobs.RescueAfter < 0:
		bad("jobs.rescue_after", "must not be negative (0 derives it from the job timeouts)")
	case c.Jobs.RescueAfter == 0:
		if c.Jobs.DefaultTimeout <= 0 || c.Jobs.DefaultTimeout > derivedMax {
			bad("jobs.default_timeout", "must be positive and at most %s while jobs.rescue_after is derived (0); set jobs.rescue_after for longer jobs", derivedMax)
		}
	case c.Jobs.DefaultTimeout <= 0 || c.Jobs.DefaultTimeout >= c.Jobs.RescueAfter:
		bad("jobs.default_timeout", "must be positive and below jobs.rescue_after (%s), or a slow job would be rescued while still running", c.Jobs.RescueAfter)
	}

	positive("auth.session_ttl", c.Auth.SessionTTL)
	positive("auth.login_window", c.Auth.LoginWindow)
	positive("auth.reset_token_ttl", c.Auth.ResetTokenTTL)
	if c.Auth.LoginLimit < 1 {
		bad("auth.login_limit", "must be at least 1")
	}
	if c.Auth.InvalidTokenLimit < 1 {
		bad("auth.invalid_token_limit", "must be at least 1")
	}
	if c.Auth.SignupLimit < 1 {
		bad("auth.signup_limit", "must be at least 1")
	}
	if c.Auth.ResetEmailLimit < 1 {
		bad("auth.reset_email_limit", "must be at least 1")
	}
	positive("auth.reset_email_window", c.Auth.ResetEmailWindow)
	if c.Auth.SecretsKey != "" && !validSecretsKey(c.Auth.SecretsKey) {
		bad("auth.secrets_key", "must be base64 of 32 random bytes (generate one with `ezscale secrets generate`)")
	}
	for i, k := range c.Auth.SecretsPreviousKeys {
		if !validSecretsKey(k) {
			bad("auth.secrets_previous_keys", "key %d must be base64 of 32 random bytes", i+1)
		}
	}

	positive("plugins.call_timeout", c.Plugins.CallTimeout)
	positive("plugins.health_interval", c.Plugins.HealthInterval)
	if c.Plugins.DataDir == "" {
		bad("plugins.data_dir", "must name a directory (each plugin gets data_dir/<name>/)")
	}

	if !currencyRe.MatchString(c.Billing.Currency) {
		bad("billing.currency", "%q is not an ISO 4217 code such as USD", c.Billing.Currency)
	}
	if c.Billing.InvoiceDaysBefore < 0 || c.Billing.InvoiceDaysBefore > 60 {
		bad("billing.invoice_days_before", "must be between 0 and 60")
	}
	if c.Billing.SuspendAfterDays < 0 {
		bad("billing.suspend_after_days", "must not be negative")
	}
	if c.Billing.TerminateAfterDays <= c.Billing.SuspendAfterDays {
		// Blame whichever of the two the operator actually set.
		if c.Sources["billing.terminate_after_days"] == "default" {
			bad("billing.suspend_after_days", "must be less than billing.terminate_after_days (%d)", c.Billing.TerminateAfterDays)
		} else {
			bad("billing.terminate_after_days", "must be greater than billing.suspend_after_days (%d)", c.Billing.SuspendAfterDays)
		}
	}
	if !clockRe.MatchString(c.Billing.RunAt) {
		bad("billing.run_at", "%q is not a time of day as HH:MM", c.Billing.RunAt)
	}
	if g := c.Billing.PaymentGateway; g != "" {
		if _, ok := c.PluginByName(g); !ok {
			bad("billing.payment_gateway", "no plugin %q block is configured", g)
		}
	}
	between := func(path string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(path, "must be between %d and %d", lo, hi)
		}
	}
	between("billing.charge_max_attempts", c.Billing.ChargeMaxAttempts, 1, 20)
	between("billing.charge_retry_days", c.Billing.ChargeRetryDays, 1, 30)
	between("billing.remind_every_days", c.Billing.RemindEveryDays, 1, 30)
	between("billing.provision_max_attempts", c.Billing.ProvisionMaxAttempts, 1, 25)
	between("billing.auto_topup_max_failures", c.Billing.AutoTopUpMaxFailures, 1, 20)
	between("billing.max_open_orders", c.Billing.MaxOpenOrders, 1, 1000)
	if c.Billing.RetryBase <= 0 || c.Billing.RetryBase > time.Hour {
		bad("billing.retry_base", "must be positive and at most 1h")
	}
	if c.Billing.InstallPollInterval < time.Second || c.Billing.InstallPollInterval > 10*time.Minute {
		bad("billing.install_poll_interval", "must be between 1s and 10m")
	}
	if c.Billing.InstallTimeout < c.Billing.InstallPollInterval || c.Billing.InstallTimeout > 7*24*time.Hour {
		bad("billing.install_timeout", "must be at least billing.install_poll_interval (%s) and at most 168h", c.Billing.InstallPollInterval)
	}
	positive("scheduler.recovery_interval", c.Scheduler.RecoveryInterval)
	if c.Scheduler.RecoveryInterval > 0 && c.Scheduler.RecoveryInterval < 10*time.Second {
		bad("scheduler.recovery_interval", "must be at least 10s")
	}
	switch {
	case c.Jobs.RescueAfter == 0:
		if c.Scheduler.JobTimeout <= 0 || c.Scheduler.JobTimeout > derivedMax {
			bad("scheduler.job_timeout", "must be positive and at most %s while jobs.rescue_after is derived (0); set jobs.rescue_after for longer tasks", derivedMax)
		}
	case c.Scheduler.JobTimeout <= 0 || c.Scheduler.JobTimeout >= c.Jobs.RescueAfter-c.Jobs.RescueAfter/10:
		bad("scheduler.job_timeout", "must be positive and below 90%% of jobs.rescue_after (%s), or a slow task would be rescued while still running and run twice", c.Jobs.RescueAfter)
	}
	positive("scheduler.retry_base", c.Scheduler.RetryBase)
	if c.Scheduler.RetryMax < c.Scheduler.RetryBase {
		bad("scheduler.retry_max", "must be at least scheduler.retry_base (%s)", c.Scheduler.RetryBase)
	}
	if c.Scheduler.BatchSize < 1 || c.Scheduler.BatchSize > 10000 {
		bad("scheduler.batch_size", "must be from 1 to 10000")
	}
	if c.Scheduler.RunsPerJob < 1 || c.Scheduler.RunsPerJob > 1000 {
		bad("scheduler.runs_per_job", "must be from 1 to 1000")
	}
	if c.Scheduler.Lookahead < 0 || c.Scheduler.Lookahead > 10*time.Minute {
		bad("scheduler.lookahead", "must be from 0 to 10m")
	}
	positive("scheduler.check_timeout", c.Scheduler.CheckTimeout)
	positive("scheduler.recheck_after", c.Scheduler.RecheckAfter)
	if sc := c.Scheduler; sc.CheckTimeout > 0 && sc.RecheckAfter > 0 && sc.JobTimeout > 0 &&
		2*sc.CheckTimeout+sc.RecheckAfter >= sc.JobTimeout {
		// A failing health check's job waits for a probe, the pause and a
		// second probe. If they outlast the job, it is cancelled and retried
		// and never reaches a restart. Blame a setting the operator changed.
		path := "scheduler.job_timeout"
		for _, p := range []string{"scheduler.recheck_after", "scheduler.check_timeout"} {
			if c.Sources[p] != "default" {
				path = p
				break
			}
		}
		bad(path, "two probes of scheduler.check_timeout (%s each) and the pause between them, scheduler.recheck_after (%s), must end before scheduler.job_timeout (%s): a failing health check's job waits for all three",
			sc.CheckTimeout, sc.RecheckAfter, sc.JobTimeout)
	}

	// The default email_plugin ("email") may name no block: email then stays
	// pending. A name the operator chose must exist, or it is a typo.
	if name := c.Notifications.EmailPlugin; name != "" && c.Sources["notifications.email_plugin"] != "default" {
		if _, ok := c.PluginByName(name); !ok {
			bad("notifications.email_plugin", "no plugin %q is declared; add a plugin %q { … } block or fix the name", name, name)
		}
	}
	positive("notifications.stream_poll_interval", c.Notifications.StreamPollInterval)
	positive("notifications.stream_heartbeat", c.Notifications.StreamHeartbeat)
	positive("notifications.stream_max_duration", c.Notifications.StreamMaxDuration)
	if n := c.Notifications.StreamMaxPerUser; n < 1 || n > 1000 {
		bad("notifications.stream_max_per_user", "must be between 1 and 1000")
	}
	positive("notifications.role_sync_interval", c.Notifications.RoleSyncInterval)
	positive("notifications.retention", c.Notifications.Retention)
	positive("notifications.read_retention", c.Notifications.ReadRetention)
	if d := c.Notifications.InviteMaxAge; d < time.Second || d > 7*24*time.Hour {
		bad("notifications.invite_max_age", "must be between 1s and 168h (Discord's limit)")
	}
	for _, key := range []string{"discord_plugin", "community_plugin"} {
		name := c.Notifications.DiscordPlugin
		if key == "community_plugin" {
			name = c.Notifications.CommunityPlugin
		}
		if _, ok := c.PluginByName(name); name != "" && !ok {
			bad("notifications."+key, "%q names no plugin block", name)
		}
	}
	if m := c.Notifications.UnsubscribeMailto; m != "" {
		if a, err := mail.ParseAddress(m); err != nil || a.Address != m {
			bad("notifications.unsubscribe_mailto", "%q is not a bare email address such as unsubscribe@example.com", m)
		}
	}

	if c.Approvals.TTL < time.Minute {
		bad("approvals.ttl", "must be at least 1m")
	}
	if c.Approvals.ExpireInterval < time.Second {
		bad("approvals.expire_interval", "must be at least 1s")
	}
	pv := c.Provisioning
	if pv.FreeTierInactivity < time.Hour {
		bad("provisioning.free_tier_inactivity", "must be at least 1h")
	}
	if pv.FreeTierWarnBefore <= 0 || pv.FreeTierWarnBefore >= pv.FreeTierInactivity {
		bad("provisioning.free_tier_warn_before", "must be positive and shorter than provisioning.free_tier_inactivity (%s)", pv.FreeTierInactivity)
	}
	if pv.SweepInterval < time.Second {
		bad("provisioning.sweep_interval", "must be at least 1s")
	}
	if pv.UsageInterval != 0 && pv.UsageInterval < 10*time.Second {
		bad("provisioning.usage_interval", "must be 0s (off) or at least 10s")
	}
	if pv.UsageRetention < time.Hour {
		bad("provisioning.usage_retention", "must be at least 1h")
	}
	between("provisioning.usage_batch", pv.UsageBatch, 1, 5000)
	between("provisioning.usage_concurrency", pv.UsageConcurrency, 1, 256)
	positive("provisioning.call_timeout", pv.CallTimeout)

	if c.Transfers.TTL < time.Hour {
		bad("transfers.ttl", "must be at least 1h")
	}
	if c.Transfers.SweepInterval < time.Second {
		bad("transfers.sweep_interval", "must be at least 1s")
	}
	mc := c.Monitoring
	for _, name := range mc.Plugins {
		if _, ok := c.PluginByName(name); !ok {
			bad("monitoring.plugins", "%q names no plugin block", name)
		}
	}
	if mc.Interval < 10*time.Second {
		bad("monitoring.interval", "must be at least 10s")
	}
	if mc.Jitter < time.Second || mc.Jitter >= mc.Interval {
		bad("monitoring.jitter", "must be at least 1s and shorter than monitoring.interval (%s)", mc.Interval)
	}
	between("monitoring.concurrency", mc.Concurrency, 1, 256)
	between("monitoring.batch", mc.Batch, 1, 5000)
	positive("monitoring.call_timeout", mc.CallTimeout)
	if mc.Retention < 24*time.Hour {
		bad("monitoring.retention", "must be at least 24h (the 30-day chart needs 720h)")
	}
	between("monitoring.down_after", mc.DownAfter, 1, 100)
	if mc.AttachInterval < 10*time.Second {
		bad("monitoring.attach_interval", "must be at least 10s")
	}

	sp := c.Support
	for _, name := range []struct{ field, plugin string }{{"support.assistant", sp.Assistant}, {"support.helpdesk", sp.Helpdesk}} {
		if _, ok := c.PluginByName(name.plugin); name.plugin != "" && !ok {
			bad(name.field, "%q names no plugin block", name.plugin)
		}
	}
	if sp.KnowledgeDir != "" {
		if st, err := os.Stat(sp.KnowledgeDir); err != nil || !st.IsDir() {
			bad("support.knowledge_dir", "%q is not a readable folder", sp.KnowledgeDir)
		}
	}
	if u := sp.KnowledgeURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("support.knowledge_url", "%q is not an http(s) URL", u)
		}
	}
	between("support.articles", sp.Articles, 1, 10)
	if sp.Retention < 24*time.Hour {
		bad("support.retention", "must be at least 24h")
	}
	between("support.ask_limit", sp.AskLimit, 1, 10000)
	if sp.AskWindow < time.Second {
		bad("support.ask_window", "must be at least 1s")
	}
	if sp.DailyTokens < 1000 {
		bad("support.daily_tokens", "must be at least 1000")
	}
	between("support.max_question", sp.MaxQuestion, 10, 100000)
	if sp.PollInterval < 10*time.Second {
		bad("support.poll_interval", "must be at least 10s")
	}
	positive("support.answer_timeout", sp.AnswerTimeout)
	if sp.KnowledgeInterval < 5*time.Second {
		bad("support.knowledge_interval", "must be at least 5s")
	}

	if u := c.Sandbox.MailURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			bad("sandbox.mail_url", "%q is not an http(s) URL", u)
		}
	}

	switch bl := c.Blob; bl.Backend {
	case "file":
		if strings.TrimSpace(bl.Dir) == "" {
			bad("blob.dir", "must name a directory")
		}
	case "s3":
		if bl.Bucket == "" {
			bad("blob.bucket", "is required with the s3 backend")
		}
		if bl.Endpoint != "" {
			if u, err := url.Parse(bl.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad("blob.endpoint", "%q is not an http(s) URL", bl.Endpoint)
			}
		}
	default:
		bad("blob.backend", "%q is not a backend: file or s3", bl.Backend)
	}
	if c.Compliance.UploadLimit < 1 || c.Compliance.UploadLimit > 10<<30 {
		bad("compliance.upload_limit", "must be between 1 and %d bytes (10 GiB)", int64(10<<30))
	}
	if c.Compliance.ReminderLead < time.Hour {
		bad("compliance.reminder_lead", "must be at least 1h")
	}

	for _, p := range c.Plugin {
		if p.Path == "" {
			errs.add(p.Pos, "Missing plugin path", fmt.Sprintf("plugin %q needs path = \"bin/ezscale-plugin-%s\"", p.Name, p.Name))
		}
		if p.SHA256 != "" && !sha256Re.MatchString(p.SHA256) {
			errs.add(p.Positions["sha256"], "Invalid sha256", fmt.Sprintf("plugin %q: expected 64 lower-case hex digits", p.Name))
		}
	}
}

// PluginByName returns the plugin block with that name.
func (c *Config) PluginByName(name string) (Plugin, bool) {
	for _, p := range c.Plugin {
		if p.Name == name {
			return p, true
		}
	}
	return Plugin{}, false
}

// validSecretsKey reports whether s is base64 (standard or URL alphabet,
// padded or not) of a 32-byte key.
func validSecretsKey(s string) bool {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return len(b) == 32
		}
	}
	return false
}
