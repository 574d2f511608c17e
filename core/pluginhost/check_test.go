package pluginhost

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/sdk"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	got, err := Check(context.Background(), bins["testplugin"])
	if err != nil {
		t.Fatal(err)
	}
	want := &CheckResult{
		Name: "testplugin", Version: "1.0.0", Kinds: []string{"provisioner", "notifier"}, Capabilities: []string{},
		SDK: got.SDK, Health: sdk.NotConfiguredHealth,
		Config: []sdk.Field{
			{Name: "api_url", Type: sdk.TypeString, Required: true},
			{Name: "port", Type: sdk.TypeInt, Default: 1.0},
			{Name: "token", Type: sdk.TypeString, Secret: true},
			{Name: "health", Type: sdk.TypeString, Default: "ok", AllowedValues: []string{"ok", "unhealthy", "hang"}},
			{Name: "state_dir", Type: sdk.TypeString},
		},
		Options: testOptions,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.SDK, "go/") {
		t.Errorf("sdk %q", got.SDK)
	}
}

func TestCheckFailures(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{
		"stdout":     "wrote to stdout before the handshake",
		"badcookie":  "magic cookie mismatch",
		"badversion": "protocol version mismatch",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Check(context.Background(), bins[name])
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Check(%s): %v, want an error about %q", name, err, want)
			}
		})
	}
	if _, err := Check(context.Background(), "/nonexistent/ezscale-plugin-x"); err == nil {
		t.Error("Check of a missing file succeeded")
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	sum, err := fileSHA256(bins["testplugin"])
	if err != nil {
		t.Fatal(err)
	}
	got, err := Describe(context.Background(), bins["testplugin"], sum)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"provisioner", "notifier"}, got.Kinds); diff != "" || got.Name != "testplugin" || got.Version != "1.0.0" {
		t.Errorf("Describe: %+v (kinds -want +got: %s)", got, diff)
	}
	wrong := strings.Repeat("0", 64)
	if _, err := Describe(context.Background(), bins["testplugin"], wrong); !errors.Is(err, ErrChecksumMismatch) {
		t.Errorf("Describe with a wrong pin: %v, want %v", err, ErrChecksumMismatch)
	}
}

// TestCheckConfigured: with its config block a plugin is checked as serve
// would start it (config refusals name the field and its position), then
// health and, for a provisioner, TestConnection against the backend.
func TestCheckConfigured(t *testing.T) {
	t.Parallel()
	got, err := CheckConfigured(context.Background(), testSpec("tp"))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Configured || got.Health != "ok" || got.Connection != "ok" || got.Name != "testplugin" {
		t.Errorf("CheckConfigured: %+v; want configured, health ok, connection ok", got)
	}

	spec := testSpec("tp")
	spec.Config["api_url"] = "refuse"
	spec.Positions = map[string]string{"api_url": "ezscale.hcl:4:5"}
	_, err = CheckConfigured(context.Background(), spec)
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "api_url (ezscale.hcl:4:5): the backend refused this URL") {
		t.Errorf("a config the plugin refuses: %v, want a ConfigError naming api_url and its position", err)
	}

	spec = testSpec("tp")
	spec.SHA256 = strings.Repeat("0", 64)
	if _, err := CheckConfigured(context.Background(), spec); !errors.Is(err, ErrChecksumMismatch) || !strings.HasPrefix(err.Error(), "handshake: ") {
		t.Errorf("a wrong pin: %v, want a handshake checksum refusal", err)
	}
}
