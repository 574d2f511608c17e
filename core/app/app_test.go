package app_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/tests/smtptest"
)

type testBundle struct {
	app  *app.App
	smtp *smtptest.Server
	base string
	logs *testkit.LogBuffer
}

// testConfig is a config for dialect d with the real email plugin pointed
// at smtp.
func testConfig(t *testing.T, d database.Dialect, smtp *smtptest.Server) *config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Server.PublicURL = "https://portal.example.test"
	cfg.Database.URL = databasetest.URL(t, d)
	cfg.Jobs.FetchCooldown = 10 * time.Millisecond
	cfg.Jobs.FetchPollInterval = 50 * time.Millisecond
	cfg.Plugin = []config.Plugin{{
		Name: "email", Path: emailPlugin, Enabled: true,
		Config: map[string]any{
			"host": smtp.Host, "port": int64(smtp.Port), "tls_policy": "none",
			"from": "EZSCALE <noreply@example.test>",
		},
		Positions: map[string]string{"path": "test.hcl:2:10", "host": "test.hcl:4:12", "port": "test.hcl:5:12", "tls_policy": "test.hcl:6:18", "from": "test.hcl:7:12"},
		Pos:       "test.hcl:1:1",
	}}
	return &cfg
}

// start builds the app from cfg and runs it until the test ends.
func start(t *testing.T, cfg *config.Config, smtp *smtptest.Server) *testBundle {
	t.Helper()
	logs := &testkit.LogBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "ezscale", Output: logs, Level: hclog.Debug})
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := a.Listen(); err != nil {
		cancel()
		a.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if t.Failed() {
			t.Logf("app log:\n%s", logs.String())
		}
	})
	return &testBundle{app: a, smtp: smtp, base: "http://" + a.Addr(), logs: logs}
}

func setup(t *testing.T, d database.Dialect) *testBundle {
	t.Helper()
	smtp := smtptest.Start(t)
	return start(t, testConfig(t, d, smtp), smtp)
}

// eachDialect runs f on SQLite and PostgreSQL.
func eachDialect(t *testing.T, f func(t *testing.T, d database.Dialect)) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f(t, d)
		})
	}
}

// call sends a JSON request, checks the answer against the OpenAPI
// document (apitest) and decodes a successful JSON answer into out (when
// not nil); it returns the status.
func (b *testBundle) call(t *testing.T, method, path, token string, in, out any) int {
	t.Helper()
	r := apitest.New(b.base).Do(t, method, path, token, in)
	if out != nil && r.Status < 300 {
		r.Decode(t, out)
	}
	if r.Status >= 300 && out != nil {
		t.Logf("%s %s: %d %s", method, path, r.Status, r.Body)
	}
	return r.Status
}

func (b *testBundle) login(t *testing.T, email, password string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	if code := b.call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password}, &out); code != http.StatusOK {
		t.Fatalf("login %s: status %d", email, code)
	}
	return out.Token
}

var tokenRe = regexp.MustCompile(`\?token=([A-Za-z0-9_%.-]+)`)

// linkToken finds the link to path in the message's text and returns its
// token.
func linkToken(t *testing.T, m smtptest.Message, path string) string {
	t.Helper()
	text, err := m.Text()
	if err != nil {
		t.Fatalf("reading the message's text: %v", err)
	}
	i := strings.Index(text, "https://portal.example.test"+path+"?token=")
	if i < 0 {
		t.Fatalf("the message has no link to %s:\n%s", path, text)
	}
	match := tokenRe.FindStringSubmatch(text[i:])
	if match == nil {
		t.Fatalf("no token in the link:\n%s", text)
	}
	return strings.ReplaceAll(match[1], "%2B", "+")
}

// TestVerificationAndResetEmailThroughPlugin: the foundation's
// verification and password-reset messages reach an SMTP server through
// the real email plugin, and their links work.
func TestVerificationAndResetEmailThroughPlugin(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, d database.Dialect) {
		b := setup(t, d)
		const email, password = "ada@example.net", "correct horse battery"
		if code := b.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": password, "account_name": "Ada"}, &map[string]any{}); code != http.StatusCreated {
			t.Fatalf("signup: status %d", code)
		}
		verify := b.smtp.WaitFor(t, email, "Confirm your email address")
		if got := verify.Header("From"); !strings.Contains(got, "noreply@example.test") {
			t.Errorf("From: %q", got)
		}
		token := linkToken(t, verify, "/verify-email")
		if code := b.call(t, "POST", "/api/v1/auth/verify-email", "", map[string]any{"token": token}, nil); code != http.StatusNoContent {
			t.Fatalf("verify-email with the emailed token: status %d", code)
		}
		var me struct {
			User struct {
				EmailVerified bool `json:"email_verified"`
			} `json:"user"`
		}
		session := b.login(t, email, password)
		if code := b.call(t, "GET", "/api/v1/me", session, nil, &me); code != http.StatusOK || !me.User.EmailVerified {
			t.Fatalf("GET /me: status %d, email_verified %v", code, me.User.EmailVerified)
		}

		if code := b.call(t, "POST", "/api/v1/auth/password-reset", "", map[string]any{"email": email}, &map[string]any{}); code != http.StatusAccepted {
			t.Fatalf("password-reset: status %d", code)
		}
		reset := b.smtp.WaitFor(t, email, "Reset your password")
		token = linkToken(t, reset, "/reset-password")
		const newPassword = "a new and better passphrase"
		if code := b.call(t, "POST", "/api/v1/auth/password-reset/confirm", "", map[string]any{"token": token, "new_password": newPassword}, nil); code != http.StatusNoContent {
			t.Fatalf("password-reset/confirm with the emailed token: status %d", code)
		}
		b.login(t, email, newPassword)

		// The outbox records both, and the security notice that the
		// password changed, as sent, each in one attempt, and the server
		// got each exactly once.
		msgs := waitMessages(t, b.app.Outbox, email, "recorded", func(msgs []outbox.Message) bool {
			for _, m := range msgs {
				if m.Status == outbox.StatusPending {
					return false
				}
			}
			return len(msgs) == 3
		})
		for _, m := range msgs {
			if m.Status != outbox.StatusSent || m.Attempts != 1 {
				t.Errorf("outbox message %s (%s): status %s, attempts %d, last error %q", m.ID, m.Template, m.Status, m.Attempts, m.LastError)
			}
		}
		b.smtp.WaitFor(t, email, "Your password was changed")
		if n := len(b.smtp.Messages()); n != 3 {
			t.Errorf("the SMTP server got %d messages, want 3", n)
		}
		if len(msgs) != 3 {
			t.Errorf("outbox has %d messages for %s, want 3", len(msgs), email)
		}
	})
}

// waitMessages polls the recipient's outbox messages until cond holds;
// the bound is generous, the condition is what is tested.
func waitMessages(t *testing.T, ob *outbox.Outbox, rcpt string, what string, cond func([]outbox.Message) bool) []outbox.Message {
	t.Helper()
	var msgs []outbox.Message
	testkit.WaitFor(t, "the messages to "+rcpt+" to become "+what, func() bool {
		var err error
		if msgs, err = ob.ListForRecipient(context.Background(), rcpt); err != nil {
			t.Fatal(err)
		}
		return cond(msgs)
	})
	return msgs
}

// waitMessage waits until the recipient's only message satisfies cond.
func waitMessage(t *testing.T, ob *outbox.Outbox, rcpt string, what string, cond func(outbox.Message) bool) outbox.Message {
	t.Helper()
	return waitMessages(t, ob, rcpt, what, func(msgs []outbox.Message) bool { return len(msgs) == 1 && cond(msgs[0]) })[0]
}

// TestRefusedRecipientFailsWithoutRetry: the relay's permanent refusal
// reaches the core as InvalidInput, and the message is failed after one
// attempt instead of being retried.
func TestRefusedRecipientFailsWithoutRetry(t *testing.T) {
	t.Parallel()
	b := setup(t, database.SQLite)
	const email = "reject-me@example.net"
	if code := b.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": "correct horse battery"}, &map[string]any{}); code != http.StatusCreated {
		t.Fatalf("signup: status %d", code)
	}
	m := waitMessage(t, b.app.Outbox, email, "failed", func(m outbox.Message) bool { return m.Status != outbox.StatusPending })
	if m.Status != outbox.StatusFailed || m.Attempts != 1 || !strings.Contains(m.LastError, "invalid_input") {
		t.Errorf("message: status %s, attempts %d, last error %q; want failed after 1 attempt with an invalid_input error", m.Status, m.Attempts, m.LastError)
	}
}

// TestDisabledEmailPluginLeavesMailPending: with the email plugin disabled
// in the config, mail is not attempted and stays pending.
func TestDisabledEmailPluginLeavesMailPending(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := testConfig(t, database.SQLite, smtp)
	cfg.Plugin[0].Enabled = false
	b := start(t, cfg, smtp)
	const email = "grace@example.net"
	if code := b.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": "correct horse battery"}, &map[string]any{}); code != http.StatusCreated {
		t.Fatalf("signup: status %d", code)
	}
	m := waitMessage(t, b.app.Outbox, email, "tried", func(m outbox.Message) bool { return m.LastError != "" })
	if m.Status != outbox.StatusPending || m.Attempts != 0 || !strings.Contains(m.LastError, "disabled") {
		t.Errorf("message: status %s, attempts %d, last error %q; want pending, 0 attempts, a disabled plugin as the reason", m.Status, m.Attempts, m.LastError)
	}
	if n := len(smtp.Messages()); n != 0 {
		t.Errorf("the SMTP server got %d messages from a disabled plugin", n)
	}
}

// TestPluginConfigErrorStopsRun: a config field the plugin's schema refuses
// ends Run before serving, naming the field and its position.
func TestPluginConfigErrorStopsRun(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := testConfig(t, database.SQLite, smtp)
	cfg.Plugin[0].Config["tls_policy"] = "sometimes"
	logger := hclog.NewNullLogger()
	ctx := context.Background()
	a, err := app.New(ctx, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(ctx)
	var pce *app.PluginConfigError
	if !errors.As(err, &pce) {
		t.Fatalf("Run: %v, want a *app.PluginConfigError", err)
	}
	for _, want := range []string{`plugin "email"`, "tls_policy", "test.hcl:6:18"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestEmailPluginMustBeANotifier: email_plugin naming a provisioner ends
// Run with an error pointing at the setting.
func TestEmailPluginMustBeANotifier(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := testConfig(t, database.SQLite, smtp)
	cfg.Plugin = append(cfg.Plugin, config.Plugin{
		Name: "kasm", Path: kasmPlugin, Enabled: true, Pos: "test.hcl:9:1", Positions: map[string]string{},
		Config: map[string]any{"api_url": "https://kasm.example.test", "api_key": "k", "api_key_secret": "s"},
	})
	cfg.Notifications.EmailPlugin = "kasm"
	cfg.Sources = map[string]string{"notifications.email_plugin": "test.hcl:20:18"}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(ctx)
	var pce *app.PluginConfigError
	if !errors.As(err, &pce) || !strings.Contains(err.Error(), "notifications.email_plugin (test.hcl:20:18)") || !strings.Contains(err.Error(), "not a notifier") {
		t.Fatalf("Run: %v, want a *app.PluginConfigError about notifications.email_plugin", err)
	}
}

// TestPluginStartFailureDoesNotStopTheAPI: a plugin that cannot start (here
// its binary is missing) is failed with a reason, and the API serves.
func TestPluginStartFailureDoesNotStopTheAPI(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	cfg := testConfig(t, database.SQLite, smtp)
	cfg.Plugin[0].Path = "/nonexistent/ezscale-plugin-email"
	b := start(t, cfg, smtp)
	if code := b.call(t, "GET", "/readyz", "", nil, &map[string]any{}); code != http.StatusOK {
		t.Fatalf("/readyz: status %d", code)
	}
	in, err := b.app.Plugins.Get("email")
	if err != nil {
		t.Fatal(err)
	}
	if in.State != "failed" || !strings.Contains(in.LastError, "test.hcl:2:10") {
		t.Errorf("plugin: state %s, last error %q; want failed, pointing at the path's position", in.State, in.LastError)
	}
}
