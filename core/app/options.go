package app

import (
	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/monitoring"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
)

// The settings of each domain, read from the configuration. The
// configuration's defaults are composed from the domains' own
// (config.Default), so a default configuration gives each domain its
// DefaultOptions (TestDefaultConfigGivesEachDomainItsDefaults); New adds
// what is not a setting: loggers, clocks, keys and callbacks.

func jobsOptions(cfg *config.Config) jobs.Options {
	return jobs.Options{
		Workers: cfg.Jobs.Workers, FetchCooldown: cfg.Jobs.FetchCooldown, FetchPollInterval: cfg.Jobs.FetchPollInterval,
		RescueAfter: cfg.Jobs.RescueAfter, DefaultTimeout: cfg.Jobs.DefaultTimeout,
	}
}

func accountsOptions(cfg *config.Config) accounts.Options {
	ac := cfg.Auth
	return accounts.Options{
		SessionTTL: ac.SessionTTL, LoginLimit: ac.LoginLimit, LoginWindow: ac.LoginWindow,
		SignupLimit: ac.SignupLimit, ResetTokenTTL: ac.ResetTokenTTL, TOTPIssuer: ac.TOTPIssuer,
		PublicURL: cfg.Server.PublicURL, ResetEmailLimit: ac.ResetEmailLimit, ResetEmailWindow: ac.ResetEmailWindow,
	}
}

// pluginhostOptions: the host's timeouts other than CallTimeout and
// HealthInterval, its restart backoff and its breaker are not settings; they
// keep the host's defaults.
func pluginhostOptions(cfg *config.Config) pluginhost.Options {
	o := pluginhost.DefaultOptions()
	o.CallTimeout, o.HealthInterval, o.DataDir = cfg.Plugins.CallTimeout, cfg.Plugins.HealthInterval, cfg.Plugins.DataDir
	o.Reattach = cfg.Reattach
	return o
}

// billingOptions: RetryMax and BatchSize are not settings; they keep
// billing's defaults.
func billingOptions(cfg *config.Config) billing.Options {
	bc := cfg.Billing
	o := billing.DefaultOptions()
	o.Currency, o.InvoiceDaysBefore, o.SuspendAfterDays = money.Currency(bc.Currency), bc.InvoiceDaysBefore, bc.SuspendAfterDays
	o.TerminateAfterDays, o.RunAt, o.PaymentGateway = bc.TerminateAfterDays, bc.RunAt, bc.PaymentGateway
	o.ChargeMaxAttempts, o.ChargeRetryDays, o.RemindEveryDays = bc.ChargeMaxAttempts, bc.ChargeRetryDays, bc.RemindEveryDays
	o.RetryBase, o.AutoTopUpMaxFailures, o.MaxOpenOrders = bc.RetryBase, bc.AutoTopUpMaxFailures, bc.MaxOpenOrders
	return o
}

// servicesOptions: the services domain's settings are in the
// configuration's billing section, where they have always been.
func servicesOptions(cfg *config.Config) services.Options {
	bc := cfg.Billing
	return services.Options{ProvisionMaxAttempts: bc.ProvisionMaxAttempts, InstallPollInterval: bc.InstallPollInterval, InstallTimeout: bc.InstallTimeout}
}

func schedulerOptions(cfg *config.Config) scheduler.Options {
	sc := cfg.Scheduler
	return scheduler.Options{
		RecoveryInterval: sc.RecoveryInterval, JobTimeout: sc.JobTimeout,
		RetryBase: sc.RetryBase, RetryMax: sc.RetryMax, BatchSize: sc.BatchSize,
		RunsPerJob: sc.RunsPerJob, Lookahead: sc.Lookahead, CheckTimeout: sc.CheckTimeout, RecheckAfter: sc.RecheckAfter, AllowPrivate: sc.RecoveryAllowPrivate,
	}
}

// provisioningOptions: ActivityResolution is not a setting; it keeps
// provisioning's default.
func provisioningOptions(cfg *config.Config) provisioning.Options {
	pc := cfg.Provisioning
	o := provisioning.DefaultOptions()
	o.FreeTierInactivity, o.FreeTierWarnBefore, o.SweepInterval = pc.FreeTierInactivity, pc.FreeTierWarnBefore, pc.SweepInterval
	o.UsageInterval, o.UsageRetention, o.UsageBatch = pc.UsageInterval, pc.UsageRetention, pc.UsageBatch
	o.UsageConcurrency, o.CallTimeout, o.PublicURL = pc.UsageConcurrency, pc.CallTimeout, cfg.Server.PublicURL
	return o
}

func monitoringOptions(cfg *config.Config) monitoring.Options {
	mc := cfg.Monitoring
	return monitoring.Options{Plugins: mc.Plugins, Interval: mc.Interval, Jitter: mc.Jitter, Concurrency: mc.Concurrency, Batch: mc.Batch,
		CallTimeout: mc.CallTimeout, Retention: mc.Retention, DownAfter: mc.DownAfter, AttachInterval: mc.AttachInterval}
}

// communityOptions: the community's settings live under notifications,
// where operators have always set them.
func communityOptions(cfg *config.Config) community.Options {
	nc := cfg.Notifications
	return community.Options{Plugin: nc.CommunityPlugin, InviteMaxAge: nc.InviteMaxAge, RoleSyncInterval: nc.RoleSyncInterval}
}

func approvalOptions(cfg *config.Config) approval.Options {
	o := approval.DefaultOptions()
	o.TTL, o.ExpireEvery = cfg.Approvals.TTL, cfg.Approvals.ExpireInterval
	return o
}

func notifyOptions(cfg *config.Config) notify.Options {
	nc := cfg.Notifications
	adminAlerts := make([]notify.Type, len(nc.AdminAlerts))
	for i, t := range nc.AdminAlerts {
		adminAlerts[i] = notify.Type(t)
	}
	return notify.Options{
		PublicURL: cfg.Server.PublicURL, ProductName: nc.ProductName, TemplatesDir: nc.TemplatesDir,
		DiscordPlugin: nc.DiscordPlugin, AdminAlerts: adminAlerts,
		UnsubscribeSecret: nc.UnsubscribeSecret, UnsubscribeMailto: nc.UnsubscribeMailto,
		StreamPollInterval: nc.StreamPollInterval, StreamHeartbeat: nc.StreamHeartbeat, StreamMaxDuration: nc.StreamMaxDuration,
		StreamMaxPerUser: nc.StreamMaxPerUser,
		Retention:        nc.Retention, ReadRetention: nc.ReadRetention,
	}
}
