package conformance

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// callTimeout bounds every call a suite makes, generously: the suites test
// behaviour, not speed.
const callTimeout = 30 * time.Second

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return c
}

// Plugin checks what every plugin must do, whatever its kinds: a complete
// description, a schema the core can use, config validation that names the
// field, and a healthy Health. The kind suites run it first.
func Plugin(t *testing.T, h *plugintest.Harness) {
	t.Helper()
	on(t, "plugin").run("Plugin", func(t st) {
		t.Helper()
		t.run("Describe", func(t st) {
			t.Helper()
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
		t.run("ValidateConfigNamesUnknownField", func(t st) {
			t.Helper()
			t.Parallel()
			diags, err := h.Plugin().ValidateConfig(ctx(t), map[string]any{"conformance_unknown_field": "x"})
			if err != nil {
				t.Fatalf("ValidateConfig: %v", err)
			}
			if !namesField(diags, "conformance_unknown_field") {
				t.Errorf("ValidateConfig with an unknown field: diagnostics %v do not name it", diags)
			}
		})
		t.run("ValidateConfigNamesMissingRequiredField", func(t st) {
			t.Helper()
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
		t.run("Health", func(t st) {
			t.Helper()
			t.Parallel()
			if err := h.Plugin().Health(ctx(t)); err != nil {
				t.Errorf("Health: %v", err)
			}
		})
	})
}

// st is a suite's view of one test. Every failure is prefixed with the
// suite ("conformance: provisioner: Create: …") and, since every function
// between the author's test and the failure calls Helper, reported at the
// line of the author's test that called the suite, not in this package.
type st struct {
	*testing.T
	prefix string
}

func on(t *testing.T, suite string) st { return st{T: t, prefix: "conformance: " + suite + ": "} }

func (t st) Errorf(format string, args ...any) {
	t.Helper()
	t.T.Errorf(t.prefix+format, args...)
}

func (t st) Fatalf(format string, args ...any) {
	t.Helper()
	t.T.Fatalf(t.prefix+format, args...)
}

func (t st) Error(args ...any) {
	t.Helper()
	t.T.Error(t.prefix + fmt.Sprint(args...))
}

func (t st) Fatal(args ...any) {
	t.Helper()
	t.T.Fatal(t.prefix + fmt.Sprint(args...))
}

// run is T.Run for suite code; f must call t.Helper first.
func (t st) run(name string, f func(t st)) bool {
	t.Helper()
	return t.T.Run(name, func(tt *testing.T) {
		tt.Helper()
		f(st{T: tt, prefix: t.prefix})
	})
}

// wantKind fails the test unless err has the given kind.
func (t st) wantKind(call string, err error, kind sdk.ErrorKind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want kind %s", call, kind)
		return
	}
	if got := sdk.KindOf(err); got != kind {
		t.Errorf("%s: got error kind %s (%v), want %s", call, got, err, kind)
	}
}

func (t st) requireKind(h *plugintest.Harness, k sdk.Kind) {
	t.Helper()
	if !h.HasKind(k) {
		t.Fatalf("Describe does not list kind %s (kinds: %v)", k, h.Description().GetKinds())
	}
}

func namesField(diags sdk.Diagnostics, field string) bool {
	for _, d := range diags {
		if d.Severity == sdk.SeverityError && d.Field == field {
			return true
		}
	}
	return false
}
