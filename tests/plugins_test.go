package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/tests/smtptest"
)

// writeConfig writes an HCL config for a core on port 0 with the email
// plugin (at pluginPath) pointed at smtp, plus extra lines in its config
// block, and returns the file's path.
func writeConfig(t *testing.T, dbURL, pluginPath string, smtp *smtptest.Server, extra string) string {
	t.Helper()
	src := fmt.Sprintf(`server {
  listen     = "127.0.0.1:0"
  public_url = "http://portal.example.test"
}
database {
  url = %q
}
log {
  level  = "info"
  format = "json"
}
plugin "email" {
  path = %q
  config {
    host       = "127.0.0.1"
    port       = %d
    tls_policy = "none"
    from       = "EZSCALE <noreply@example.test>"
%s  }
}
`, dbURL, pluginPath, smtp.Port, extra)
	path := filepath.Join(t.TempDir(), "ezscale.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPluginsCheckEmail: `ezscale plugins check` passes on the email
// plugin and names its kind; `ezscale plugins list` describes it from the
// config without starting a core.
func TestPluginsCheckEmail(t *testing.T) {
	t.Parallel()
	code, out := run(t, "", "plugins", "check", emailPlugin)
	if code != 0 {
		t.Fatalf("ezscale plugins check %s: exit %d\n%s", emailPlugin, code, out)
	}
	for _, want := range []string{": ok", "name:         email", "kinds:        notifier", "tls_policy"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	smtp := smtptest.Start(t)
	cfg := writeConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "unused.db"), emailPlugin, smtp, "")
	code, out = run(t, "", "plugins", "list", "--config", cfg)
	if code != 0 {
		t.Fatalf("ezscale plugins list: exit %d\n%s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("list output:\n%s", out)
	}
	if f := strings.Fields(lines[1]); len(f) < 6 || f[0] != "email" || f[1] != "true" || f[2] != "0.1.0" || f[3] != "notifier" || f[5] != emailPlugin {
		t.Errorf("list row %q, want email, enabled, version 0.1.0, kind notifier, its path", lines[1])
	}
}

// TestPluginsCheckFails: a file that is not a plugin makes check exit
// non-zero and say which step failed.
func TestPluginsCheckFails(t *testing.T) {
	t.Parallel()
	notPlugin := filepath.Join(t.TempDir(), "not-a-plugin")
	if err := os.WriteFile(notPlugin, []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out := run(t, "", "plugins", "check", notPlugin)
	if code == 0 || !strings.Contains(out, "handshake") {
		t.Errorf("check of a non-plugin: exit %d\n%s", code, out)
	}
}

// TestCoreSupervisesEmailPlugin is the plugin system's "done when": a core
// configured with the email plugin shows it running in the admin API; after
// kill -9 of the plugin process it is running again with restarts ≥ 1; and
// after SIGTERM of the core no plugin process is left.
func TestCoreSupervisesEmailPlugin(t *testing.T) {
	t.Parallel()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			smtp := smtptest.Start(t)
			plugin := privateCopy(t, emailPlugin)
			cfg := writeConfig(t, databasetest.URL(t, d), plugin, smtp, "")
			if code, out := run(t, "staff password for tests\n", "admin", "create", "--config", cfg,
				"--email", "ops@example.net", "--role", "admin", "--password-stdin"); code != 0 {
				t.Fatalf("ezscale admin create: exit %d\n%s", code, out)
			}
			c := serve(t, cfg)
			var login struct {
				Token string `json:"token"`
			}
			if code := c.call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": "ops@example.net", "password": "staff password for tests"}, &login); code != http.StatusOK {
				t.Fatalf("login: status %d", code)
			}
			first := waitPlugin(t, c, login.Token, "running", func(p httpapi.PluginView) bool { return p.State == "running" })
			if first.PID == nil {
				t.Fatalf("running plugin without a pid: %+v", first)
			}
			pid := *first.PID
			if ppid := parentOf(pid); ppid != c.cmd.Process.Pid {
				t.Errorf("plugin %d has parent %d, want the core %d", pid, ppid, c.cmd.Process.Pid)
			}

			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			again := waitPlugin(t, c, login.Token, "running again after kill -9", func(p httpapi.PluginView) bool {
				return p.State == "running" && p.Restarts >= 1 && p.PID != nil && *p.PID != pid
			})
			if !processGone(pid) {
				t.Errorf("the killed plugin process %d is still there", pid)
			}
			// The new process serves: signup mail goes out through it.
			if code := c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "ada@example.net", "password": "correct horse battery"}, &map[string]any{}); code != http.StatusCreated {
				t.Fatalf("signup: status %d", code)
			}
			smtp.WaitFor(t, "ada@example.net", "Confirm your email address")

			if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-c.done:
				if err != nil {
					t.Errorf("ezscale serve after SIGTERM: %v", err)
				}
			case <-time.After(2 * time.Minute):
				t.Fatal("ezscale serve did not exit after SIGTERM")
			}
			if left := processesOf(plugin); len(left) > 0 {
				t.Errorf("plugin processes left after the core stopped: %v", left)
			}
			if !processGone(*again.PID) {
				t.Errorf("plugin process %d outlived the core", *again.PID)
			}
		})
	}
}

func waitPlugin(t *testing.T, c *core, token, what string, cond func(httpapi.PluginView) bool) httpapi.PluginView {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list httpapi.List[httpapi.PluginView]
		if code := c.call(t, "GET", "/api/v1/admin/plugins", token, nil, &list); code != http.StatusOK {
			t.Fatalf("GET /api/v1/admin/plugins: status %d", code)
		}
		if len(list.Data) == 1 && cond(list.Data[0]) {
			return list.Data[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the email plugin never became %s: %+v", what, list.Data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeRefusesBadPluginConfig: a plugin config field the plugin's
// schema refuses makes `ezscale serve` exit non-zero before serving, naming
// the field and its file:line:col, and leaves no plugin process behind.
func TestServeRefusesBadPluginConfig(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	plugin := privateCopy(t, emailPlugin)
	cfg := writeConfig(t, "sqlite:"+filepath.Join(t.TempDir(), "ezscale.db"), plugin, smtp,
		"    tls_policy_typo = \"none\"\n    connect_timeout = \"soon\"\n")
	code, out := run(t, "", "serve", "--config", cfg)
	if code != 2 {
		t.Errorf("ezscale serve with a bad plugin config: exit %d, want 2\n%s", code, out)
	}
	for _, want := range []string{
		`plugin "email": invalid config`,
		"tls_policy_typo (" + cfg + ":19:23)",
		"connect_timeout (" + cfg + ":20:23)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"@message":"serving"`) {
		t.Errorf("the core served despite the bad plugin config:\n%s", out)
	}
	if left := processesOf(plugin); len(left) > 0 {
		t.Errorf("plugin processes left after serve refused to start: %v", left)
	}
}
