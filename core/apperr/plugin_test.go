package apperr_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ezscale/platform/core/apperr"
)

// TestFromPluginOtherErrors: an application error (the core refused before
// calling) passes through, nil stays nil, and any other error (the plugin
// host could not reach the plugin) is the backend being unavailable.
func TestFromPluginOtherErrors(t *testing.T) {
	t.Parallel()
	refused := apperr.New(apperr.Unavailable, "the service's provisioner is not available").WithReason("plugin_unavailable")
	if got := apperr.FromPlugin(fmt.Errorf("wrapped: %w", refused), "the backend"); apperr.CodeOf(got) != apperr.Unavailable || !errors.Is(got, refused) {
		t.Errorf("an application error: %v", got)
	}
	if got := apperr.FromPlugin(nil, "the backend"); got != nil {
		t.Errorf("nil: %v", got)
	}
	got, _ := apperr.As(apperr.FromPlugin(errors.New("dial unix /tmp/plugin.sock: refused"), "the backend"))
	if got == nil || got.Code != apperr.Unavailable || got.Reason != "backend_unavailable" || strings.Contains(got.Message, "sock") {
		t.Errorf("a plain error: %+v", got)
	}
}
