package conformance

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// callTimeout bounds every call a suite makes, generously: the suites test
// behaviour, not speed.
const callTimeout = 30 * time.Second

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return c
}

// Plugin checks what every plugin must do, whatever its kinds: a complete
// description, a schema the core can use, config validation that names the
// field, and a healthy Health. The kind suites run it first.
func Plugin(t *testing.T, h *plugintest.Harness) {
	t.Helper()
	t.Run("Plugin", func(t *testing.T) {
		t.Run("Describe", func(t *testing.T) {
			t.Parallel()
			d := h.Description()
			if d.GetName() == "" || d.GetVersion() == "" {
				t.Errorf("Describe: name %q and version %q must both be set", d.GetName(), d.GetVersion())
			}
			if d.GetProtocolVersion() != sdk.ProtocolVersion {
				t.Errorf("Describe: protocol_version = %d, want %d", d.GetProtocolVersion(), sdk.ProtocolVersion)
			}
			if len(sdk.DescribedKinds(d)) == 0 {
				t.Errorf("Describe: no known kind in %v", d.GetKinds())
			}
			for _, f := range d.GetConfigSchema().GetFields() {
				if f.GetName() == "" || f.GetType() == pb.FieldType_FIELD_TYPE_UNSPECIFIED {
					t.Errorf("Describe: schema field %q has no name or no type", f.GetName())
				}
				if f.GetSecret() && f.GetDefault() != nil {
					t.Errorf("Describe: secret field %q has a default; secrets must come from the operator", f.GetName())
				}
			}
			if err := sdk.OptionsFromProto(d.GetOptions()).Validate(); err != nil {
				t.Errorf("Describe: %v", err)
			}
		})
		t.Run("ValidateConfigNamesUnknownField", func(t *testing.T) {
			t.Parallel()
			diags, err := h.Plugin().ValidateConfig(ctx(t), map[string]any{"conformance_unknown_field": "x"})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			if !namesField(diags, "conformance_unknown_field") {
				t.Errorf("ValidateConfig with an unknown field: diagnostics %v do not name it", diags)
			}
		})
		t.Run("ValidateConfigNamesMissingRequiredField", func(t *testing.T) {
			t.Parallel()
			for _, f := range h.Description().GetConfigSchema().GetFields() {
				if !f.GetRequired() || f.GetDefault() != nil {
					continue
				}
				diags, err := h.Plugin().ValidateConfig(ctx(t), map[string]any{})
				if err != nil {
					t.Fatalf("ValidateConfig: %v", err)
				}
				if !namesField(diags, f.GetName()) {
					t.Errorf("ValidateConfig without required field %q: diagnostics %v do not name it", f.GetName(), diags)
				}
			}
		})
		t.Run("Health", func(t *testing.T) {
			t.Parallel()
			if err := h.Plugin().Health(ctx(t)); err != nil {
				t.Errorf("Health: %v", err)
			}
		})
	})
}

func namesField(diags sdk.Diagnostics, field string) bool {
	for _, d := range diags {
		if d.Severity == sdk.SeverityError && d.Field == field {
			return true
		}
	}
	return false
}

// wantKind fails the test unless err has the given kind.
func wantKind(t *testing.T, call string, err error, kind sdk.ErrorKind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want kind %s", call, kind)
		return
	}
	if got := sdk.KindOf(err); got != kind {
		t.Errorf("%s: got error kind %s (%v), want %s", call, got, err, kind)
	}
}

func requireKind(t *testing.T, h *plugintest.Harness, k sdk.Kind) {
	t.Helper()
	if !h.HasKind(k) {
		t.Fatalf("Describe does not list kind %s (kinds: %v)", k, h.Description().GetKinds())
	}
}
