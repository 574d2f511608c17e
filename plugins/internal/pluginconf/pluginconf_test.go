package pluginconf

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/sdk"
)

type settings struct{ name string }

func parse(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	if cfg.String("name") == "" {
		return nil, sdk.FieldDiagnostic("name", "is required")
	}
	return &settings{name: cfg.String("name")}, nil
}

func unavailable(t *testing.T, err error) *sdk.Error {
	t.Helper()
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.Unavailable {
		t.Fatalf("got %v, want an Unavailable sdk error", err)
	}
	return se
}

func TestHolderIsUnavailableUntilConfigured(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := New(sdk.Description{Name: "x", Version: "1"}, parse)

	if diff := cmp.Diff(sdk.Description{Name: "x", Version: "1"}, h.Describe()); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	se := unavailable(t, h.Health(ctx))
	if se.Message != "not configured" || se.RetryAfter != 0 {
		t.Errorf("Health before Configure = %+v", se)
	}
	if s, err := h.Settings(); s != nil || err == nil {
		t.Errorf("Settings before Configure = %v, %v", s, err)
	}

	if diags := h.ValidateConfig(ctx, sdk.Config{}); !diags.HasErrors() || diags[0].Field != "name" {
		t.Errorf("ValidateConfig of an empty block = %v, want an error on name", diags)
	}
	if err := h.Configure(ctx, sdk.Config{}); err == nil {
		t.Error("Configure of an empty block succeeded")
	}
	unavailable(t, h.Health(ctx))

	if err := h.Configure(ctx, sdk.Config{"name": "a"}); err != nil {
		t.Fatal(err)
	}
	if err := h.Health(ctx); err != nil {
		t.Errorf("Health after Configure = %v", err)
	}
	// A refused config leaves the settings applied before it.
	if err := h.Configure(ctx, sdk.Config{}); err == nil {
		t.Error("Configure of an empty block succeeded")
	}
	s, err := h.Settings()
	if err != nil || s.name != "a" {
		t.Errorf("Settings = %v, %v; want name a", s, err)
	}
}

func TestHolderNotConfiguredAnswer(t *testing.T) {
	t.Parallel()
	h := New(sdk.Description{Name: "x"}, parse, NotConfigured(time.Second, "the plugin is not configured yet"))
	se := unavailable(t, h.Health(context.Background()))
	if diff := cmp.Diff(sdk.UnavailableError(time.Second, "the plugin is not configured yet").Error(), se.Error()); diff != "" || se.RetryAfter != time.Second {
		t.Errorf("Health before Configure = %+v (%s)", se, diff)
	}
}
