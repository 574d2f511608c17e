// Package pluginconf is the settings holder every first-party plugin shares:
// a static description, a parse function that turns the core's config block
// into the plugin's settings (or diagnostics naming each bad field), and the
// settings applied by the last Configure, swapped under a lock while calls
// run.
//
// A plugin embeds a *Holder and gets sdk.Plugin's Describe, Configure and
// Health and sdk.ConfigValidator's ValidateConfig; its calls read the
// settings with Settings. A plugin with more to say (a Health that dials
// nothing, say) declares that method itself.
package pluginconf

import (
	"context"
	"sync"
	"time"

	"github.com/ezscale/platform/sdk"
)

// ParseFunc turns a config block into settings. It must not call the
// plugin's backend: ValidateConfig runs it too, and Configure must not fail
// because the backend is briefly down. Diagnostics with errors mean the
// settings are unusable.
type ParseFunc[T any] func(sdk.Config) (T, sdk.Diagnostics)

// Holder holds a plugin's description and its current settings.
type Holder[T any] struct {
	desc  sdk.Description
	parse ParseFunc[T]

	// Before Configure, Settings and Health answer Unavailable with this
	// retry hint and message.
	retryAfter time.Duration
	message    string

	mu         sync.RWMutex
	s          T
	configured bool
}

// Option changes a Holder built by New.
type Option func(*holderOptions)

type holderOptions struct {
	retryAfter time.Duration
	message    string
}

// NotConfigured sets the Unavailable answer before the first Configure
// (default: no retry hint, "not configured").
func NotConfigured(retryAfter time.Duration, message string) Option {
	return func(o *holderOptions) { o.retryAfter, o.message = retryAfter, message }
}

// New returns an unconfigured holder of the plugin described by desc.
func New[T any](desc sdk.Description, parse ParseFunc[T], opts ...Option) *Holder[T] {
	o := holderOptions{message: "not configured"}
	for _, opt := range opts {
		opt(&o)
	}
	return &Holder[T]{desc: desc, parse: parse, retryAfter: o.retryAfter, message: o.message}
}

// Describe is static: the SDK calls it in describe mode too.
func (h *Holder[T]) Describe() sdk.Description { return h.desc }

// ValidateConfig checks what the schema cannot express, by parsing.
func (h *Holder[T]) ValidateConfig(_ context.Context, cfg sdk.Config) sdk.Diagnostics {
	_, diags := h.parse(cfg)
	return diags
}

// Configure applies a validated config; calls already running keep the
// settings they read.
func (h *Holder[T]) Configure(_ context.Context, cfg sdk.Config) error {
	s, diags := h.parse(cfg)
	if diags.HasErrors() {
		return diags
	}
	h.mu.Lock()
	h.s, h.configured = s, true
	h.mu.Unlock()
	return nil
}

// Health answers from local state: configured or not.
func (h *Holder[T]) Health(context.Context) error {
	_, err := h.Settings()
	return err
}

// Settings returns the settings of the last Configure, or an Unavailable
// error before the first.
func (h *Holder[T]) Settings() (T, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.configured {
		var zero T
		return zero, sdk.UnavailableError(h.retryAfter, "%s", h.message)
	}
	return h.s, nil
}
