package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// pluginStartWait bounds how long Run waits for the configured plugins
// before serving. A plugin still starting after it keeps starting in the
// background; the API does not wait for it.
const pluginStartWait = 45 * time.Second

// PluginSpecs turns the config's plugin blocks into the plugin host's specs.
// Positions carry each field's file:line:col, plus the block's own position
// under "", so start errors point into the config file.
func PluginSpecs(cfg *config.Config) []pluginhost.Spec {
	specs := make([]pluginhost.Spec, 0, len(cfg.Plugin))
	for _, p := range cfg.Plugin {
		pos := make(map[string]string, len(p.Positions)+1)
		for k, v := range p.Positions {
			pos[k] = v
		}
		pos[""] = p.Pos
		specs = append(specs, pluginhost.Spec{
			Name: p.Name, Path: p.Path, SHA256: p.SHA256, Config: p.Config,
			Positions: pos, Disabled: !p.Enabled,
		})
	}
	return specs
}

// StartPlugins starts the configured plugins and waits (boundedly) for each
// to run or fail. A plugin whose config the plugin's schema (or the plugin)
// refuses is an operator error: StartPlugins returns it, naming the field
// and its file:line:col, and `ezscale serve` exits; so is an email_plugin
// that names a plugin of another kind. Any other start failure (a missing
// binary, a checksum mismatch, a crash) is logged and left visible as the
// plugin's state and last_error; the rest of the platform runs without
// that plugin. Run calls StartPlugins, once; the host refuses to start the
// same plugin twice.
func (a *App) StartPlugins(ctx context.Context) error {
	specs := PluginSpecs(a.Config)
	if len(specs) == 0 {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, pluginStartWait)
	defer cancel()
	var configErrs []error
	if err := a.Plugins.Start(wctx, specs); err != nil {
		for _, e := range unjoin(err) {
			var ce *pluginhost.ConfigError
			if errors.As(e, &ce) {
				configErrs = append(configErrs, e)
				continue
			}
			a.Logger.Error("plugin did not start; the platform runs without it until it does", "error", e)
		}
	}
	if err := a.checkEmailPlugin(); err != nil {
		configErrs = append(configErrs, err)
	}
	if len(configErrs) > 0 {
		return &PluginConfigError{errs: configErrs}
	}
	return nil
}

// checkEmailPlugin refuses an email_plugin that names a plugin of another
// kind (a provisioner, say): every email would fail. It can only tell once
// the plugin has described itself; a plugin that never started is reported
// by its own failure instead.
func (a *App) checkEmailPlugin() error {
	name := a.Config.Notifications.EmailPlugin
	p, ok := a.Config.PluginByName(name)
	if name == "" || !ok {
		return nil
	}
	in, err := a.Plugins.Get(name)
	if err != nil || in.Version == "" || slices.Contains(in.Kinds, string(sdk.KindNotifier)) {
		return nil
	}
	pos := a.Config.Sources["notifications.email_plugin"]
	if pos == "default" || pos == "" {
		pos = p.Pos
	}
	return fmt.Errorf("notifications.email_plugin (%s): plugin %q is a %s, not a notifier; email cannot be delivered through it",
		pos, name, strings.Join(in.Kinds, " and "))
}

// PluginConfigError is one or more plugin config blocks refused by their
// plugin's schema, or an email_plugin naming a plugin that is no notifier;
// each message names the field and where it was set.
type PluginConfigError struct{ errs []error }

func (e *PluginConfigError) Error() string { return errors.Join(e.errs...).Error() }

// Unwrap returns the individual errors (*pluginhost.ConfigError values,
// and the email_plugin kind mismatch).
func (e *PluginConfigError) Unwrap() []error { return e.errs }

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// pluginEmailSender delivers the outbox's "email" channel through a
// notifier plugin. The plugin is looked up at each send, so a plugin that
// is restarted, re-enabled or still starting is picked up without rewiring.
type pluginEmailSender struct {
	host *pluginhost.Host
	name string
}

// Send returns the plugin's error as it came: the outbox fails the message
// at once when its kind is not retryable (a refused address, a malformed
// body, a channel the plugin does not serve) and retries everything else
// (Unavailable, an SMTP login the operator still has to fix, a crash) with
// backoff. A disabled plugin leaves the message pending as if no notifier
// were configured.
func (s *pluginEmailSender) Send(ctx context.Context, m *outbox.Message) error {
	in, err := s.host.Get(s.name)
	if err != nil {
		return fmt.Errorf("email plugin %q: %w", s.name, err)
	}
	if in.State == pluginhost.StateDisabled {
		return fmt.Errorf("email plugin %q is disabled: %w", s.name, outbox.ErrNoSender)
	}
	n, err := s.host.Notifier(s.name)
	if err != nil {
		return err
	}
	_, err = n.Deliver(ctx, &pb.DeliverRequest{
		IdempotencyKey: m.ID,
		Channel:        m.Channel,
		Recipient:      m.Recipient,
		Subject:        m.Subject,
		TextBody:       m.BodyText,
		HtmlBody:       m.BodyHTML,
		Category:       m.Category,
		// List-Unsubscribe and List-Unsubscribe-Post on marketing mail,
		// set by the notification service before each attempt.
		Headers: m.Headers,
	})
	if err == nil {
		return nil
	}
	return fmt.Errorf("email plugin %q: %w", s.name, err)
}

// emailSenders route the outbox's email channel to the configured email
// plugin. Without one, email stays pending (visible in the outbox) until a
// plugin is configured and the core restarted; the sweep then sends it.
func emailSenders(cfg *config.Config, host *pluginhost.Host, logger hclog.Logger) map[string]outbox.Sender {
	name := cfg.Notifications.EmailPlugin
	if name == "" {
		logger.Warn("no email plugin configured (notifications.email_plugin is empty): email stays pending")
		return nil
	}
	if _, ok := cfg.PluginByName(name); !ok {
		logger.Warn("no email plugin configured: email stays pending until one is", "plugin", name)
		return nil
	}
	return map[string]outbox.Sender{"email": &pluginEmailSender{host: host, name: name}}
}
