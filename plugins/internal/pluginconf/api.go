package pluginconf

import (
	"time"

	"github.com/ezscale/platform/sdk"
)

// API is the settings of a plugin that drives a backend's API: the client
// built from the config and the defaults its calls fall back on (a
// provisioner's plan defaults).
type API[C, D any] struct {
	Client   C
	Defaults D
}

// NotConfiguredYet is the answer of a backend-driving plugin before its
// first Configure: Unavailable, come back in a second.
var NotConfiguredYet = NotConfigured(time.Second, "the plugin is not configured yet")

// Typed is the parse function of a config block declared as a struct
// (sdk.ConfigOf): the block decoded and checked by its tags and Validate,
// then the API client built by newClient (an error is a problem with
// api_url) and the defaults taken by defaults. Neither may call the
// backend.
func Typed[T, C, D any](spec *sdk.ConfigSpec[T], newClient func(T) (C, error), defaults func(T) D) ParseFunc[*API[C, D]] {
	return func(cfg sdk.Config) (*API[C, D], sdk.Diagnostics) {
		c, ds := spec.Decode(cfg)
		if ds.HasErrors() {
			return nil, ds
		}
		client, err := newClient(c)
		if err != nil {
			return nil, sdk.FieldDiagnostic("api_url", "%v", err)
		}
		return &API[C, D]{Client: client, Defaults: defaults(c)}, ds
	}
}

// Current is the client and defaults h holds, or the not-configured error.
func Current[C, D any](h *Holder[*API[C, D]]) (C, D, error) {
	a, err := h.Settings()
	if err != nil {
		var c C
		var d D
		return c, d, err
	}
	return a.Client, a.Defaults, nil
}
