package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestErrorsGolden loads each file in testdata/errors and compares the error
// text, positions included, with its .golden file.
func TestErrorsGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/errors/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			_, err := Load(file, []string{})
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want an error", file)
			}
			golden := strings.TrimSuffix(file, ".hcl") + ".golden"
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run go test ./config -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("error text mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFull(t *testing.T) {
	t.Parallel()
	cfg, err := Load("testdata/ok/full.hcl", []string{"SMTP_PASSWORD=s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("0.0.0.0:9090", cfg.Server.Listen); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"10.0.0.0/8"}, cfg.Server.TrustedProxies); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff(50, cfg.Jobs.Workers); diff != "" {
		t.Error(diff)
	}
	// Unset values keep their defaults.
	if diff := cmp.Diff(Default().Server.ReadTimeout, cfg.Server.ReadTimeout); diff != "" {
		t.Error(diff)
	}
	p, ok := cfg.PluginByName("email")
	if !ok {
		t.Fatal("plugin email not loaded")
	}
	want := map[string]any{"host": "smtp.example.com", "port": int64(587), "password": "s3cret", "tags": []any{"a", "b"}}
	if diff := cmp.Diff(want, p.Config); diff != "" {
		t.Errorf("plugin config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("testdata/ok/full.hcl:13:16", p.Positions["port"]); diff != "" {
		t.Errorf("position of port: %s", diff)
	}
	if diff := cmp.Diff("testdata/ok/full.hcl:2:21", cfg.Sources["server.listen"]); diff != "" {
		t.Errorf("source of server.listen: %s", diff)
	}
}

// TestEnvOverridesFile checks the layering defaults < file < env.
func TestEnvOverridesFile(t *testing.T) {
	t.Parallel()
	env := []string{
		"EZSCALE_SERVER_LISTEN=127.0.0.1:7000",
		"EZSCALE_DATABASE_URL=sqlite:/tmp/x.db",
		"EZSCALE_JOBS_FETCH_COOLDOWN=5ms",
		"EZSCALE_JOBS_DISABLED=true",
		"EZSCALE_SERVER_TRUSTED_PROXIES=10.0.0.0/8, 192.168.0.0/16",
		"EZSCALE_PLUGIN_EMAIL_CONFIG_HOST=mail.internal",
		"EZSCALE_PLUGIN_EMAIL_PATH=/opt/email",
		"EZSCALE_TEST_POSTGRES_URL=postgres://ignored", // not a settings block: ignored
	}
	cfg, err := Load("testdata/ok/full.hcl", env)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.Server.Listen, cfg.Database.URL, cfg.Jobs.FetchCooldown, cfg.Jobs.Disabled, cfg.Server.TrustedProxies, cfg.Server.PublicURL}
	want := []any{"127.0.0.1:7000", "sqlite:/tmp/x.db", 5 * time.Millisecond, true, []string{"10.0.0.0/8", "192.168.0.0/16"}, "https://billing.example.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	p, _ := cfg.PluginByName("email")
	if diff := cmp.Diff([]string{"mail.internal", "/opt/email", "env EZSCALE_PLUGIN_EMAIL_CONFIG_HOST"}, []string{p.Config["host"].(string), p.Path, p.Positions["host"]}); diff != "" {
		t.Errorf("plugin env override (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("env EZSCALE_SERVER_LISTEN", cfg.Sources["server.listen"]); diff != "" {
		t.Error(diff)
	}
}

// TestMetricsSettings: metrics are off by default; the listener and the
// token come from the file or the environment.
func TestMetricsSettings(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", ""}, []string{cfg.Server.MetricsListen, cfg.Server.MetricsToken}); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	cfg, err = Load("", []string{"EZSCALE_SERVER_METRICS_LISTEN=127.0.0.1:9100", "EZSCALE_SERVER_METRICS_TOKEN=0123456789abcdefghijklmnop"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"127.0.0.1:9100", "0123456789abcdefghijklmnop"}, []string{cfg.Server.MetricsListen, cfg.Server.MetricsToken}); diff != "" {
		t.Errorf("from the environment (-want +got):\n%s", diff)
	}
}

// TestKnowledgeIntervalSetting: the knowledge folder is checked every
// minute unless support.knowledge_interval (or its env override) says
// otherwise.
func TestKnowledgeIntervalSetting(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	over, err := Load("", []string{"EZSCALE_SUPPORT_KNOWLEDGE_INTERVAL=5m"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{time.Minute, 5 * time.Minute}, []time.Duration{cfg.Support.KnowledgeInterval, over.Support.KnowledgeInterval}); diff != "" {
		t.Errorf("default and override (-want +got):\n%s", diff)
	}
}

func TestEnvErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"typo", []string{"EZSCALE_SERVER_LISEN=x"}, "env EZSCALE_SERVER_LISEN: Unknown setting; there is no setting server.lisen. Did you mean EZSCALE_SERVER_LISTEN?"},
		{"bad duration", []string{"EZSCALE_SERVER_READ_TIMEOUT=soon"}, `env EZSCALE_SERVER_READ_TIMEOUT: Invalid value for server.read_timeout; "soon" is not a duration (use e.g. "30s", "5m", "1h")`},
		{"validated", []string{"EZSCALE_LOG_LEVEL=loud"}, `env EZSCALE_LOG_LEVEL: Invalid value for log.level; "loud": use trace, debug, info, warn or error`},
		{"unknown plugin", []string{"EZSCALE_PLUGIN_NOPE_PATH=x"}, "env EZSCALE_PLUGIN_NOPE_PATH: Unknown plugin; no plugin block matches this variable; declare the plugin in the config file first"},
		{"metrics listen", []string{"EZSCALE_SERVER_METRICS_LISTEN=9090"}, `env EZSCALE_SERVER_METRICS_LISTEN: Invalid value for server.metrics_listen; "9090" is not host:port`},
		{"metrics on the API address", []string{"EZSCALE_SERVER_METRICS_LISTEN=127.0.0.1:8080"}, `env EZSCALE_SERVER_METRICS_LISTEN: Invalid value for server.metrics_listen; must differ from server.listen: metrics get a listener of their own`},
		{"stream cap", []string{"EZSCALE_NOTIFICATIONS_STREAM_MAX_PER_USER=0"}, `env EZSCALE_NOTIFICATIONS_STREAM_MAX_PER_USER: Invalid value for notifications.stream_max_per_user; must be between 1 and 1000`},
		{"knowledge interval", []string{"EZSCALE_SUPPORT_KNOWLEDGE_INTERVAL=1s"}, `env EZSCALE_SUPPORT_KNOWLEDGE_INTERVAL: Invalid value for support.knowledge_interval; must be at least 5s`},
		{"short metrics token", []string{"EZSCALE_SERVER_METRICS_TOKEN=secret"}, `env EZSCALE_SERVER_METRICS_TOKEN: Invalid value for server.metrics_token; must be at least 24 characters without surrounding spaces (a random secret, from env("…"))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load("", tt.env)
			if err == nil {
				t.Fatal("want an error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("sqlite:data/ezscale.db", cfg.Database.URL); diff != "" {
		t.Error(diff)
	}
	if _, err := Load("examples/dev.hcl", nil); err != nil {
		t.Errorf("examples/dev.hcl: %v", err)
	}
}

// TestExamplesLoadWithoutEnvironment: every example config loads with
// nothing exported, so `ezscale … --config config/examples/demo.hcl` works
// as it stands (the sandbox's own secrets have defaults).
func TestExamplesLoadWithoutEnvironment(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("examples/*.hcl")
	if err != nil || len(files) < 2 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	for _, file := range files {
		if _, err := Load(file, []string{}); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
	cfg, err := Load("examples/demo.hcl", []string{})
	if err != nil {
		t.Fatal(err)
	}
	email, _ := cfg.PluginByName("email")
	got := []any{cfg.Sandbox.MailURL, cfg.Notifications.EmailPlugin, cfg.Billing.PaymentGateway, cfg.Notifications.CommunityPlugin, email.Config["port"]}
	if diff := cmp.Diff([]any{"http://127.0.0.1:8486", "email", "stripe", "discord", int64(8487)}, got); diff != "" {
		t.Errorf("demo.hcl (-want +got):\n%s", diff)
	}
}

// FuzzParse feeds arbitrary bytes to the parser: it must return a config or
// an error, never panic.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/errors/*.hcl", "testdata/ok/*.hcl", "examples/*.hcl"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		cfg, err := Parse("fuzz.hcl", src, []string{"X=1"})
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}

// TestSecretsKeyFromEnvironmentOnly: the secrets key is accepted from
// env("…") in the file or from EZSCALE_AUTH_SECRETS_KEY, and checked to be
// base64 of 32 bytes (the literal refusal is a golden error file).
func TestSecretsKeyFromEnvironmentOnly(t *testing.T) {
	t.Parallel()
	const key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets.hcl")
	if err := os.WriteFile(file, []byte("auth {\n  secrets_key = env(\"SECRETS_KEY\")\n  secrets_previous_keys = [env(\"OLD_KEY\")]\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, []string{"SECRETS_KEY=" + key, "OLD_KEY=" + key})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{key, key}, []string{cfg.Auth.SecretsKey, cfg.Auth.SecretsPreviousKeys[0]}); diff != "" {
		t.Errorf("keys from env() (-want +got):\n%s", diff)
	}
	cfg, err = Load("", []string{"EZSCALE_AUTH_SECRETS_KEY=" + key})
	if err != nil || cfg.Auth.SecretsKey != key {
		t.Errorf("key from EZSCALE_AUTH_SECRETS_KEY: %q, %v", cfg.Auth.SecretsKey, err)
	}
	_, err = Load("", []string{"EZSCALE_AUTH_SECRETS_KEY=c2hvcnQ="})
	if err == nil || !strings.Contains(err.Error(), "auth.secrets_key") {
		t.Errorf("a 5-byte key: %v, want an error naming auth.secrets_key", err)
	}
}
