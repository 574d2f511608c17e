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

type typedConfig struct {
	APIURL string `config:"api_url,required,url" doc:"API root"`
	Size   int64  `config:"size" default:"3" doc:"default size"`
}

var typedSpec = sdk.ConfigOf[typedConfig]()

type client struct{ root string }

// TestTypedBuildsTheClientAndDefaults: a struct-declared config block is
// decoded, the client built from it (a refusal names api_url) and the
// defaults taken; before Configure, Current answers Unavailable with a
// one-second retry hint.
func TestTypedBuildsTheClientAndDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newClient := func(c typedConfig) (*client, error) {
		if c.APIURL == "https://refused.example" {
			return nil, errors.New("refused")
		}
		return &client{root: c.APIURL}, nil
	}
	h := New(sdk.Description{Name: "x", Schema: typedSpec.Schema()}, Typed(typedSpec, newClient, func(c typedConfig) int64 { return c.Size }), NotConfiguredYet)

	_, _, err := Current(h)
	var se *sdk.Error
	if !errors.As(err, &se) || se.Kind != sdk.Unavailable || se.RetryAfter != time.Second {
		t.Fatalf("Current before Configure = %v", err)
	}
	apply := func(raw map[string]any) sdk.Config {
		t.Helper()
		cfg, diags := typedSpec.Schema().Apply(raw)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return cfg
	}
	if diags := h.ValidateConfig(ctx, apply(map[string]any{"api_url": "https://refused.example"})); !diags.HasErrors() || diags[0].Field != "api_url" {
		t.Errorf("a client refusing the config: %v, want an error on api_url", diags)
	}
	if err := h.Configure(ctx, apply(map[string]any{"api_url": "https://panel.example", "size": int64(5)})); err != nil {
		t.Fatal(err)
	}
	c, size, err := Current(h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{"https://panel.example", int64(5)}, []any{c.root, size}); diff != "" {
		t.Errorf("client root and defaults (-want +got):\n%s", diff)
	}
}
