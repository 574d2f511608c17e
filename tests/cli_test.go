package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

var termSignal = syscall.SIGTERM

const adminPassword = "first admin password"

// TestServeEndToEnd: migrate, create the first admin, serve, answer the
// probes, metrics (behind the metrics token) and the API, log in as the
// admin, and exit 0 on SIGTERM.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	databasetest.EachDialect(t, func(t *testing.T, d database.Dialect) {
		// An empty database: this test migrates it.
		url := databasetest.EmptyURL(t, d)
		env := []string{"EZSCALE_DATABASE_URL=" + url}

		res := mustRunCLI(t, env, "", "migrate")
		if !strings.Contains(res.stdout, "migration(s) applied") {
			t.Errorf("migrate said %q", res.stdout)
		}
		// A second run finds nothing to do.
		if res := mustRunCLI(t, env, "", "migrate"); !strings.Contains(res.stdout, ": 0 migration(s) applied") {
			t.Errorf("second migrate said %q", res.stdout)
		}

		if res := runCLI(t, env, "", "admin", "create", "--email", "admin@example.com", "--password-stdin"); res.code == 0 || !strings.Contains(res.stderr, "no password") {
			t.Errorf("admin create without a password: exit %d, %q", res.code, res.stderr)
		}
		res = mustRunCLI(t, env, adminPassword+"\n", "admin", "create", "--email", "Admin@Example.com", "--password-stdin")
		if !strings.Contains(res.stdout, "created staff owner admin@example.com") {
			t.Errorf("admin create said %q", res.stdout)
		}
		// The real binary hashes with OWASP's parameters; only Go test
		// binaries use cheap ones (core/accounts, passwordParams).
		if hash := storedPasswordHash(t, url, "admin@example.com"); !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("the stored hash %q does not carry OWASP's argon2id parameters", hash)
		}

		const metricsToken = "e2e-metrics-token-0123456789"
		srv := serveEnv(t, append(env, "EZSCALE_SERVER_METRICS_TOKEN="+metricsToken))
		for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`, "/api/v1/openapi.json": `"openapi":"3.1.0"`} {
			status, body := srv.call(t, "GET", path, "", "")
			if status != http.StatusOK || !strings.Contains(string(body), want) {
				t.Errorf("GET %s: %d, body lacks %s: %.200s", path, status, want, body)
			}
		}
		// Metrics on the API listener only with the metrics token.
		if status, _ := srv.call(t, "GET", "/metrics", "", ""); status != http.StatusUnauthorized {
			t.Errorf("GET /metrics without the token: %d, want 401", status)
		}
		if status, body := srv.call(t, "GET", "/metrics", metricsToken, ""); status != http.StatusOK || !strings.Contains(string(body), "go_goroutines") {
			t.Errorf("GET /metrics with the token: %d %.200s", status, body)
		}

		status, body := srv.call(t, "POST", "/api/v1/auth/login", "", `{"email": "admin@example.com", "password": "`+adminPassword+`"}`)
		if status != http.StatusOK {
			t.Fatalf("admin login: %d %s", status, body)
		}
		var login struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(body, &login); err != nil {
			t.Fatal(err)
		}
		status, body = srv.call(t, "GET", "/api/v1/me", login.Token, "")
		var me struct {
			User struct {
				StaffRole string `json:"staff_role"`
			} `json:"user"`
		}
		if err := json.Unmarshal(body, &me); err != nil || status != http.StatusOK || me.User.StaffRole != "owner" {
			t.Errorf("me as admin: %d %s", status, body)
		}
		if status, body := srv.call(t, "GET", "/api/v1/admin/audit-events?action=staff.create", login.Token, ""); status != http.StatusOK || !strings.Contains(string(body), "admin@example.com") {
			t.Errorf("audit events: %d %s", status, body)
		}

		if code := srv.stop(t); code != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0", code)
		}
		if logs := srv.logs.String(); !strings.Contains(logs, "shutting down") {
			t.Errorf("no graceful shutdown in the log:\n%s", logs)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.hcl")
	if err := os.WriteFile(bad, []byte("server {\n  public_url = \"http://127.0.0.1:8080\"\n  lisen = \"x\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, nil, "", "config", "validate", "--config", bad)
	if res.code != 2 {
		t.Errorf("exit %d for a bad config, want 2", res.code)
	}
	for _, want := range []string{bad + ":3:3: Unsupported argument", `Did you mean "listen"?`} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, res.stderr)
		}
	}

	// Values are checked after the file parses, still naming the position;
	// the environment overrides the file and is named too.
	badValue := filepath.Join(dir, "bad_value.hcl")
	if err := os.WriteFile(badValue, []byte("log {\n  level = \"loud\"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = runCLI(t, []string{"EZSCALE_SERVER_LISTEN=nowhere"}, "", "config", "validate", "--config", badValue)
	if res.code != 2 || !strings.Contains(res.stderr, badValue+":2:11: Invalid value for log.level") || !strings.Contains(res.stderr, "env EZSCALE_SERVER_LISTEN") {
		t.Errorf("exit %d, stderr:\n%s", res.code, res.stderr)
	}

	good := filepath.Join(dir, "good.hcl")
	if err := os.WriteFile(good, []byte("server { listen = env(\"LISTEN\", \"127.0.0.1:9000\") }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := mustRunCLI(t, nil, "", "config", "validate", "--config", good); !strings.Contains(res.stdout, "valid") {
		t.Errorf("validate said %q", res.stdout)
	}
}

// storedPasswordHash reads the password hash of the user with email.
func storedPasswordHash(t *testing.T, url, email string) string {
	t.Helper()
	var hash string
	if err := openDB(t, url).QueryRowContext(context.Background(), "SELECT password_hash FROM users WHERE email = ?", email).Scan(&hash); err != nil {
		t.Fatalf("reading %s's password hash: %v", email, err)
	}
	return hash
}

// TestAuditVerifyFindsTampering plays an attacker with direct database
// access: the append-only triggers are dropped or disabled, then a row is
// changed and a middle row deleted. `ezscale audit verify` names each.
func TestAuditVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		env := []string{"EZSCALE_DATABASE_URL=" + url}
		for _, email := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
			mustRunCLI(t, env, adminPassword, "admin", "create", "--email", email, "--password-stdin", "--role", "support")
		}
		if res := mustRunCLI(t, env, "", "audit", "verify"); !strings.Contains(res.stdout, "audit log intact: 4 events, last seq 4") {
			t.Errorf("verify said %q", res.stdout)
		}

		ctx := context.Background()
		db, err := database.Open(ctx, url, database.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		exec := func(q string) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		// The application's own connection cannot do it.
		if _, err := db.ExecContext(ctx, "UPDATE audit_events SET action = 'x' WHERE seq = 3"); err == nil {
			t.Fatal("UPDATE of an audit row was allowed")
		}
		if d == database.SQLite {
			exec("DROP TRIGGER audit_events_no_update")
			exec("DROP TRIGGER audit_events_no_delete")
		} else {
			exec("ALTER TABLE audit_events DISABLE TRIGGER USER")
		}

		exec("UPDATE audit_events SET changes = '{\"email\":\"mallory@example.com\",\"staff_role\":\"owner\"}' WHERE seq = 3")
		res := runCLI(t, env, "", "audit", "verify")
		if res.code == 0 || !strings.Contains(res.stderr, "BROKEN at seq 3") || !strings.Contains(res.stderr, "altered") {
			t.Errorf("after UPDATE: exit %d, stderr %q", res.code, res.stderr)
		}

		exec("DELETE FROM audit_events WHERE seq = 2")
		res = runCLI(t, env, "", "audit", "verify")
		if res.code == 0 || !strings.Contains(res.stderr, "BROKEN at seq 2") || !strings.Contains(res.stderr, "missing") {
			t.Errorf("after DELETE: exit %d, stderr %q", res.code, res.stderr)
		}
	})
}
