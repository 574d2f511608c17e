package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/testkit"
)

// appBundle is one running application (app.New's real handler behind an
// httptest server) on a fresh database, and a client whose every response is
// checked against the OpenAPI document.
type appBundle struct {
	app     *app.App
	srv     *httptest.Server
	client  *apiClient
	dialect database.Dialect
	url     string
	logs    *testkit.LogBuffer
	// now is the application's clock when the test holds one (startAppAt),
	// shared with its replicas; nil: the wall clock.
	now func() time.Time
}

// testSecretsKey seals two-factor secrets in the tests (never a real key).
const testSecretsKey = "dGVzdCBzZWNyZXRzIGtleSwgMzIgYnl0ZXMgbG9uZyE="

// startApp starts the application on the empty database at url; opts adjust
// the configuration (defaults are config.Default()'s).
func startApp(t testing.TB, d database.Dialect, url string, opts ...func(*config.Config)) *appBundle {
	t.Helper()
	return startAppAt(t, d, url, nil, opts...)
}

// startAppAt is startApp with the application reading the time from now
// (nil: the wall clock). A test that counts requests against a rate limit
// gives it windowClock, so that the limit's window cannot end between its
// requests.
func startAppAt(t testing.TB, d database.Dialect, url string, now func() time.Time, opts ...func(*config.Config)) *appBundle {
	t.Helper()
	cfg := config.Default()
	cfg.Database.URL = url
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Sources = map[string]string{}
	// A fixed key, so replicas on one database open each other's secrets.
	cfg.Auth.SecretsKey = testSecretsKey
	// Documents go to the test's own directory, not the package's data/.
	cfg.Blob.Dir = filepath.Join(t.TempDir(), "blobs")
	for _, o := range opts {
		o(&cfg)
	}
	logs := &testkit.LogBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Name: "test", Level: hclog.Warn, Output: logs})
	var appOpts []app.Option
	if now != nil {
		appOpts = append(appOpts, app.WithClock(now))
	}
	a, err := app.New(context.Background(), &cfg, logger, appOpts...)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		if t.Failed() && logs.Len() > 0 {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &appBundle{app: a, srv: srv, client: newClient(t, srv.URL), dialect: d, url: url, logs: logs, now: now}
}

// windowClock runs at the wall clock's pace from the start of the present
// hour. A rate limit counts in fixed windows of the clock (a whole hour, a
// quarter of an hour), so on this clock each of them starts with the test,
// and none ends before a quarter of an hour has passed.
func windowClock() func() time.Time {
	start := time.Now()
	hour := start.Truncate(time.Hour)
	return func() time.Time { return hour.Add(time.Since(start)) }
}

// replica starts a second application on the same database, as a second
// `ezscale serve` behind a load balancer would be.
func (tb *appBundle) replica(t testing.TB, opts ...func(*config.Config)) *appBundle {
	t.Helper()
	return startAppAt(t, tb.dialect, tb.url, tb.now, opts...)
}

// apiClient sends JSON requests; its transport validates every response
// against the OpenAPI document.
type apiClient struct {
	t    testing.TB
	base string
	http *http.Client
}

func newClient(t testing.TB, base string) *apiClient {
	return &apiClient{t: t, base: base, http: &http.Client{
		Transport: &apitest.Transport{T: t, Base: http.DefaultTransport},
		Timeout:   2 * time.Minute,
	}}
}

// response is a fully read HTTP response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// raw is a request body sent as is (not JSON-encoded).
type raw string

// do sends a request: body nil (none), raw, or a value encoded as JSON;
// headers are name/value pairs.
func (c *apiClient) do(method, path, token string, body any, headers ...string) *response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case raw:
		rd = strings.NewReader(string(b))
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatalf("encoding request: %v", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatalf("building request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// want fails the test unless the response has status.
func (r *response) want(t testing.TB, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

// decode unmarshals the body into v.
func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// problem decodes a problem+json body.
func (r *response) problem(t testing.TB) httpapi.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json; body: %s", ct, r.Body)
	}
	var p httpapi.Problem
	r.decode(t, &p)
	return p
}

// wantProblem fails unless the response is a problem with status and code.
func (r *response) wantProblem(t testing.TB, status int, code string) httpapi.Problem {
	t.Helper()
	r.want(t, status)
	p := r.problem(t)
	if p.Code != code {
		t.Fatalf("problem code %q, want %q; body: %s", p.Code, code, r.Body)
	}
	return p
}

// user is a signed-up customer with a session.
type user struct {
	ID        string
	AccountID string
	Email     string
	Password  string
	Token     string
}

func uniqueEmail(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:]) + "@example.com"
}

// signup creates a customer and returns it without a session.
func (tb *appBundle) signup(t testing.TB, email, password string) user {
	t.Helper()
	var out struct {
		User    httpapi.UserView    `json:"user"`
		Account httpapi.AccountView `json:"account"`
	}
	tb.client.do("POST", "/api/v1/auth/signup", "", map[string]string{"email": email, "password": password}).want(t, http.StatusCreated).decode(t, &out)
	return user{ID: out.User.ID, AccountID: out.Account.ID, Email: email, Password: password}
}

// login opens a session and returns its token.
func (tb *appBundle) login(t testing.TB, email, password string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	tb.client.do("POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": password}).want(t, http.StatusOK).decode(t, &out)
	if out.Token == "" {
		t.Fatal("login returned no token")
	}
	return out.Token
}

// newUser signs up a customer and logs them in.
func (tb *appBundle) newUser(t testing.TB, prefix string) user {
	t.Helper()
	u := tb.signup(t, uniqueEmail(prefix), "correct horse battery")
	u.Token = tb.login(t, u.Email, u.Password)
	return u
}

// newStaff creates a staff user the way `ezscale admin create` does, and
// logs them in.
func (tb *appBundle) newStaff(t testing.TB, role string) user {
	t.Helper()
	u := user{Email: uniqueEmail("staff-" + role), Password: "staff password 123"}
	su, err := tb.app.Accounts.CreateStaff(context.Background(), u.Email, u.Password, role)
	if err != nil {
		t.Fatalf("creating staff: %v", err)
	}
	u.ID = su.ID
	u.Token = tb.login(t, u.Email, u.Password)
	return u
}

// addMember gives user a role in account, as an owner inviting them would.
func (tb *appBundle) addMember(t testing.TB, accountID, userID, role string) {
	t.Helper()
	if err := accountstest.Join(context.Background(), tb.app.DB, accountID, userID, role); err != nil {
		t.Fatal(err)
	}
}

var oneTimeTokenRe = regexp.MustCompile(`ezs_otk_[a-z2-7]+`)

// mailedToken reads the newest message of template sent to email from the
// outbox, as a notifier plugin would deliver it, and returns the one-time
// token in it.
func (tb *appBundle) mailedToken(t testing.TB, email, template string) string {
	t.Helper()
	var msgs []outbox.Message
	err := tb.app.DB.NewSelect().Model(&msgs).Where("recipient = ?", email).Where("template = ?", template).
		Order("created_at DESC", "id DESC").Limit(1).Scan(context.Background())
	if err != nil {
		t.Fatalf("reading outbox: %v", err)
	}
	if len(msgs) == 0 {
		t.Fatalf("no %s message for %s in the outbox", template, email)
	}
	// Get fills in a body stored once for many messages.
	m, err := tb.app.Outbox.Get(context.Background(), msgs[0].ID)
	if err != nil {
		t.Fatalf("reading outbox message: %v", err)
	}
	tok := oneTimeTokenRe.FindString(m.BodyText)
	if tok == "" {
		t.Fatalf("no token in the %s message: %q", template, m.BodyText)
	}
	return tok
}

// count returns the number of rows of table matching where.
func (tb *appBundle) count(t testing.TB, table, where string, args ...any) int {
	t.Helper()
	n, err := tb.app.DB.NewSelect().Table(table).Where(where, args...).Count(context.Background())
	if err != nil {
		t.Fatalf("counting %s: %v", table, err)
	}
	return int(n)
}

func (u user) String() string { return fmt.Sprintf("%s (%s)", u.Email, u.ID) }
