package tests

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/tests/testbin"
)

var (
	otherOnce sync.Once
	otherBins map[string]string
	otherErr  error
)

// firstPartyBins returns the six first-party plugins' executables by name:
// email (built by TestMain), the three provisioners and discord and stripe.
func firstPartyBins(t *testing.T) map[string]string {
	t.Helper()
	otherOnce.Do(func() {
		dir, err := os.MkdirTemp("", "plugins-")
		if err != nil {
			otherErr = err
			return
		}
		otherBins = map[string]string{}
		for _, name := range []string{"discord", "stripe"} {
			if otherBins[name], err = testbin.Plugin(dir, name); err != nil {
				otherErr = err
				return
			}
		}
	})
	if otherErr != nil {
		t.Fatal(otherErr)
	}
	bins := map[string]string{"email": emailPlugin}
	for name, path := range otherBins {
		bins[name] = path
	}
	for name, path := range provisionerBins(t) {
		bins[name] = path
	}
	return bins
}

// TestPluginsCheckFirstParty: `ezscale plugins check PATH` passes on every
// first-party plugin, unconfigured: the process answers its health check
// before it has a config.
func TestPluginsCheckFirstParty(t *testing.T) {
	t.Parallel()
	bins := firstPartyBins(t)
	for _, name := range []string{"email", "discord", "stripe", "virtfusion", "pterodactyl", "kasm"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out := run(t, "", "plugins", "check", bins[name])
			if code != 0 {
				t.Fatalf("ezscale plugins check %s: exit %d\n%s", bins[name], code, out)
			}
			for _, want := range []string{": ok", "name:         " + name, "health:       " + sdk.NotConfiguredHealth} {
				if !strings.Contains(out, want) {
					t.Errorf("check output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// TestPluginsCheckConfigured: `ezscale plugins check NAME --config FILE`
// configures the block's plugin and runs a provisioner's TestConnection
// against its backend (here the fakes); wrong credentials fail at that
// step, and a name without a block is refused.
func TestPluginsCheckConfigured(t *testing.T) {
	t.Parallel()
	f := startFakes(t, 1)
	cfg := provConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"), f)
	for name, connection := range map[string]string{
		"virtfusion":  "connected to VirtFusion",
		"pterodactyl": "connected to the Pterodactyl Application API",
		"kasm":        "connected to Kasm Workspaces",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, out := run(t, "", "plugins", "check", name, "--config", cfg)
			if code != 0 {
				t.Fatalf("ezscale plugins check %s --config: exit %d\n%s", name, code, out)
			}
			for _, want := range []string{"configured:   yes", "health:       ok", "connection:   " + connection} {
				if !strings.Contains(out, want) {
					t.Errorf("check output lacks %q:\n%s", want, out)
				}
			}
		})
	}

	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.hcl")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(src), `"vf-test-token"`, `"not-the-token"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, "", "plugins", "check", "virtfusion", "--config", bad)
	if code != 1 || !strings.Contains(out, "check failed: test connection: unauthenticated") {
		t.Errorf("a refused token: exit %d\n%s\nwant exit 1 at the test connection step", code, out)
	}
	code, out = run(t, "", "plugins", "check", "nosuch", "--config", cfg)
	if code != 2 || !strings.Contains(out, `has no plugin "nosuch" block`) {
		t.Errorf("an unknown block: exit %d\n%s", code, out)
	}
}
