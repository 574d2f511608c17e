package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/testkit"
)

// staff creates a staff user with role and returns a session token.
func (b *testBundle) staff(t *testing.T, email, role string) string {
	t.Helper()
	const password = "staff password for tests"
	if _, err := b.app.Accounts.CreateStaff(context.Background(), email, password, role); err != nil {
		t.Fatal(err)
	}
	return b.login(t, email, password)
}

func (b *testBundle) plugins(t *testing.T, token string) []httpapi.PluginView {
	t.Helper()
	var out httpapi.List[httpapi.PluginView]
	if code := b.call(t, "GET", "/api/v1/admin/plugins", token, nil, &out); code != http.StatusOK {
		t.Fatalf("GET /api/v1/admin/plugins: status %d", code)
	}
	return out.Data
}

// waitPlugin polls the admin API until the plugin satisfies cond.
func (b *testBundle) waitPlugin(t *testing.T, token, what string, cond func(httpapi.PluginView) bool) httpapi.PluginView {
	t.Helper()
	var ps []httpapi.PluginView
	testkit.WaitFor(t, "the plugin to become "+what, func() bool {
		ps = b.plugins(t, token)
		return len(ps) == 1 && cond(ps[0])
	})
	return ps[0]
}

func TestAdminPluginsList(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, d database.Dialect) {
		b := setup(t, d)
		admin := b.staff(t, "ops@example.net", "admin")
		// The supervisor's first health round runs as the plugin starts.
		b.waitPlugin(t, admin, "checked", func(p httpapi.PluginView) bool { return p.Health.CheckedAt != nil })

		// The raw body: every documented field is present, and it
		// matches the OpenAPI schema.
		req, _ := http.NewRequest("GET", b.base+"/api/v1/admin/plugins", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var raw struct {
			Data       []map[string]any `json:"data"`
			NextCursor *string          `json:"next_cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		if err != nil || len(raw.Data) != 1 || raw.NextCursor == nil || *raw.NextCursor != "" {
			t.Fatalf("list body: %+v (%v)", raw, err)
		}
		doc, _, err := httpapi.OpenAPI()
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Components.Schemas["Plugin"].Value.VisitJSON(raw.Data[0]); err != nil {
			t.Errorf("the listed plugin does not match the OpenAPI schema: %v\n%v", err, raw.Data[0])
		}

		p := b.plugins(t, admin)[0]
		if p.PID == nil || p.StartedAt == nil || *p.PID <= 0 {
			t.Errorf("a running plugin has pid %v and started_at %v", p.PID, p.StartedAt)
		}
		if p.Health.LatencyMS == nil || *p.Health.LatencyMS <= 0 {
			t.Errorf("a checked plugin has health latency %v", p.Health.LatencyMS)
		}
		p.PID, p.StartedAt, p.Health.CheckedAt, p.Health.LatencyMS = nil, nil, nil, nil
		want := httpapi.PluginView{Name: "email", Version: "0.1.0", Kinds: []string{"notifier"}, Capabilities: []string{}, State: "running",
			Health: httpapi.HealthView{Status: "healthy", Message: "ok"}}
		if diff := cmp.Diff(want, p); diff != "" {
			t.Errorf("plugin (-want +got):\n%s", diff)
		}
	})
}

func TestAdminPluginsAccess(t *testing.T) {
	t.Parallel()
	b := setup(t, database.SQLite)
	support := b.staff(t, "support@example.net", "support")
	admin := b.staff(t, "ops@example.net", "admin")
	if code := b.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "cust@example.net", "password": "correct horse battery"}, &map[string]any{}); code != http.StatusCreated {
		t.Fatalf("signup: status %d", code)
	}
	customer := b.login(t, "cust@example.net", "correct horse battery")
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"anonymous list", "GET", "/api/v1/admin/plugins", "", http.StatusUnauthorized},
		{"customer list", "GET", "/api/v1/admin/plugins", customer, http.StatusForbidden},
		{"support list", "GET", "/api/v1/admin/plugins", support, http.StatusForbidden},
		{"customer restart", "POST", "/api/v1/admin/plugins/email/restart", customer, http.StatusForbidden},
		{"support restart", "POST", "/api/v1/admin/plugins/email/restart", support, http.StatusForbidden},
		{"unknown plugin", "POST", "/api/v1/admin/plugins/nope/restart", admin, http.StatusNotFound},
	} {
		if code := b.call(t, tc.method, tc.path, tc.token, nil, nil); code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.want)
		}
	}
	if p := b.plugins(t, admin)[0]; p.Restarts != 0 || p.State != "running" {
		t.Errorf("refused restarts touched the plugin: %+v", p)
	}
}

// TestAdminRestartReenablesFailedPlugin: SIGKILL the plugin until its
// crash-loop breaker opens (failed), then an admin restart brings it back,
// and the restart is audited.
func TestAdminRestartReenablesFailedPlugin(t *testing.T) {
	t.Parallel()
	b := setup(t, database.SQLite)
	admin := b.staff(t, "ops@example.net", "admin")

	for crash := 1; ; crash++ {
		p := b.waitPlugin(t, admin, "running or failed", func(p httpapi.PluginView) bool {
			return (p.State == "running" && p.Restarts == crash-1) || p.State == "failed"
		})
		if p.State == "failed" {
			if crash != 4 {
				t.Fatalf("the breaker opened after %d crashes, want 3", crash-1)
			}
			break
		}
		if crash > 3 {
			t.Fatalf("still running after %d crashes: %+v", crash-1, p)
		}
		if err := syscall.Kill(*p.PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}

	var after httpapi.PluginView
	if code := b.call(t, "POST", "/api/v1/admin/plugins/email/restart", admin, nil, &after); code != http.StatusOK {
		t.Fatalf("restart: status %d", code)
	}
	if after.State != "running" || after.PID == nil {
		t.Fatalf("after the restart: %+v", after)
	}

	// The plugin works again: mail goes out.
	if code := b.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "ada@example.net", "password": "correct horse battery"}, &map[string]any{}); code != http.StatusCreated {
		t.Fatalf("signup: status %d", code)
	}
	b.smtp.WaitFor(t, "ada@example.net", "Confirm your email address")

	var events httpapi.List[httpapi.AuditEventView]
	if code := b.call(t, "GET", "/api/v1/admin/audit-events?action=plugin.restart", admin, nil, &events); code != http.StatusOK {
		t.Fatalf("audit events: status %d", code)
	}
	if len(events.Data) != 1 {
		t.Fatalf("%d plugin.restart events, want 1: %+v", len(events.Data), events.Data)
	}
	ev := events.Data[0]
	got := map[string]any{"actor_type": ev.ActorType, "target": ev.TargetType + "/" + ev.TargetID, "result": ev.Result,
		"before": ev.Changes["state_before"], "state": ev.Changes["state"]}
	want := map[string]any{"actor_type": "staff", "target": "plugin/email", "result": "success", "before": "failed", "state": "running"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit event (-want +got):\n%s", diff)
	}
}
