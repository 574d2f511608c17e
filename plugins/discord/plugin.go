package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/ezscale/platform/plugins/discord/discordapi"
	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/sdk"
)

// Version is the plugin's version, reported by Describe and sent in the
// User-Agent Discord requires.
const Version = "0.1.0"

// Results are remembered per idempotency key for Discord's longest relevant
// window: a day covers the core's delivery retries.
const (
	idempotencyTTL     = 24 * time.Hour
	idempotencyEntries = 100_000
)

// Plugin is the Discord notifier and community plugin. Configure may swap
// the settings while calls run, so calls take them under a read lock.
type Plugin struct {
	*pluginconf.Holder[*settings]

	delivered *onceCache[string]
	invites   *onceCache[*discordapi.Invite]
}

// Interface guards: the compiler checks the plugin's kinds.
var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.Notifier        = (*Plugin)(nil)
	_ sdk.Community       = (*Plugin)(nil)
)

// New returns an unconfigured plugin. Configure makes no Discord call: a
// bad token shows as Unauthenticated on the first call, and Configure must
// not fail because Discord is briefly down.
func New() *Plugin {
	return &Plugin{
		Holder:    pluginconf.New(sdk.Description{Name: "discord", Version: Version, Schema: schema()}, parseConfig),
		delivered: newOnceCache[string](idempotencyTTL, idempotencyEntries),
		invites:   newOnceCache[*discordapi.Invite](idempotencyTTL, idempotencyEntries),
	}
}

func newHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout}
}

// serverErrorRetry is the retry hint for a Discord 5xx, which says nothing
// about when to come back.
const serverErrorRetry = 5 * time.Second

// toSDK maps discordapi errors onto the SDK's error kinds.
func toSDK(err error) error {
	var rl *discordapi.RateLimitError
	var apiErr *discordapi.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		return sdk.UnavailableError(rl.RetryAfter, "%v", err)
	case errors.As(err, &apiErr):
		switch {
		case apiErr.StatusCode == http.StatusUnauthorized:
			return sdk.Errorf(sdk.Unauthenticated, "%v", err)
		case apiErr.StatusCode == http.StatusForbidden:
			return sdk.Errorf(sdk.Unauthenticated, "%v: the bot needs CREATE_INSTANT_INVITE and MANAGE_ROLES, "+
				"and its highest role must be above the managed roles", err)
		case apiErr.StatusCode == http.StatusNotFound:
			return sdk.Errorf(sdk.NotFound, "%v", err)
		case apiErr.StatusCode >= 500:
			return sdk.UnavailableError(serverErrorRetry, "%v", err)
		case apiErr.StatusCode >= 400:
			return sdk.Errorf(sdk.InvalidInput, "%v", err)
		}
		return sdk.Errorf(sdk.Internal, "%v", err)
	case errors.Is(err, discordapi.ErrInvalidID), errors.Is(err, discordapi.ErrInvalidWebhookURL):
		return sdk.Errorf(sdk.InvalidInput, "%v", err)
	case errors.Is(err, discordapi.ErrNoBotToken):
		return sdk.Errorf(sdk.NotSupported, "%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	// Transport failures: Discord may be unreachable for a moment.
	return sdk.UnavailableError(serverErrorRetry, "%v", err)
}
