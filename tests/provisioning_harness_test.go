package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	"github.com/ezscale/platform/tests/testbin"
)

var (
	provOnce sync.Once
	provBins map[string]string
	provErr  error
)

// provisionerBins builds the three real provisioner plugins once per test
// binary and returns their paths by plugin name.
func provisionerBins(t testing.TB) map[string]string {
	t.Helper()
	provOnce.Do(func() {
		provBins = map[string]string{}
		for _, name := range []string{"virtfusion", "pterodactyl", "kasm"} {
			var err error
			if provBins[name], err = testbin.Plugin(name); err != nil {
				provErr = err
				return
			}
		}
	})
	if provErr != nil {
		t.Fatal(provErr)
	}
	return provBins
}

// fakes are the three backends' fakes, in this process on loopback HTTP
// servers, so a test can both drive them over HTTP (failure injection, as
// a script would) and read their state.
type fakes struct {
	vf      *fakevirtfusion.Fake
	vfURL   string // the API root, …/api/v1
	vfRoot  string
	pt      *fakepterodactyl.Fake
	ptURL   string
	kasm    *fakekasm.Fake
	kasmURL string
}

func startFakes(t testing.TB, scale int) *fakes {
	t.Helper()
	f := &fakes{
		vf:   fakevirtfusion.New(fakevirtfusion.Options{HypervisorScale: scale}),
		pt:   fakepterodactyl.New(fakepterodactyl.Options{Scale: scale, ApplicationRateLimit: -1, ClientRateLimit: -1}),
		kasm: fakekasm.New(fakekasm.Options{}),
	}
	vf := httptest.NewServer(f.vf)
	pt := httptest.NewServer(f.pt)
	kasm := httptest.NewServer(f.kasm)
	t.Cleanup(func() { vf.Close(); pt.Close(); kasm.Close() })
	f.vfRoot, f.vfURL, f.ptURL, f.kasmURL = vf.URL, vf.URL+fakevirtfusion.BasePath, pt.URL, kasm.URL
	return f
}

// control posts to a fake's /__fake/ control API (failure injection,
// reset), exactly as `curl` would against `make demo`'s fakes.
func control(t testing.TB, root, path string, body any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	resp, err := http.Post(root+path, "application/json", rd)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST %s%s: status %d", root, path, resp.StatusCode)
	}
}

// provConfig writes the config of a core with the three provisioner
// plugins pointed at the fakes: fast job polling, provisioning retries a
// second apart, usage collected every 10 s, no email.
func provConfig(t testing.TB, dbURL string, f *fakes) string {
	t.Helper()
	return provConfigWith(t, dbURL, f, provSettings{})
}

// provSettings are what a benchmark changes in provConfig's config.
type provSettings struct {
	// jobsDisabled makes an API-only core (orders queue their jobs, none run).
	jobsDisabled bool
	// usageInterval replaces the 10 s usage collection, so a benchmark is
	// not measuring the collector too.
	usageInterval string
}

func provConfigWith(t testing.TB, dbURL string, f *fakes, s provSettings) string {
	t.Helper()
	if s.usageInterval == "" {
		s.usageInterval = "10s"
	}
	bins := provisionerBins(t)
	src := fmt.Sprintf(`server {
  listen     = "127.0.0.1:0"
  public_url = "http://portal.example.test"
}
database {
  url            = %q
  max_open_conns = 20
}
log {
  level  = "info"
  format = "json"
}
jobs {
  fetch_poll_interval = "100ms"
  fetch_cooldown      = "10ms"
  disabled            = %v
}
billing {
  retry_base             = "1s"
  provision_max_attempts = 12
  install_poll_interval  = "1s"
}
notifications {
  email_plugin = ""
}
provisioning {
  usage_interval = %q
}
plugin "virtfusion" {
  path = %q
  config {
    api_url   = %q
    api_token = "vf-test-token"
  }
}
plugin "pterodactyl" {
  path = %q
  config {
    api_url         = %q
    application_key = %q
    client_key      = %q
  }
}
plugin "kasm" {
  path = %q
  config {
    api_url        = %q
    api_key        = %q
    api_key_secret = %q
  }
}
`, dbURL, s.jobsDisabled, s.usageInterval, bins["virtfusion"], f.vfURL, bins["pterodactyl"], f.ptURL, fakepterodactyl.DefaultApplicationKey, fakepterodactyl.DefaultClientKey,
		bins["kasm"], f.kasmURL, fakekasm.DefaultAPIKey, fakekasm.DefaultAPISecret)
	path := filepath.Join(t.TempDir(), "ezscale.hcl")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// platform is a running core with the demo catalog, a staff admin and a
// customer logged in.
type platform struct {
	c        *core
	staff    string
	customer string
	account  string
}

// startPlatform creates the staff admin and imports the demo catalog with
// the CLI (twice: the import is idempotent), serves, and signs a customer
// up through the API.
func startPlatform(t *testing.T, dialect database.Dialect, f *fakes) *platform {
	t.Helper()
	return startPlatformWith(t, provConfig(t, databasetest.URL(t, dialect), f))
}

// startPlatformWith is startPlatform on a config already written.
func startPlatformWith(t testing.TB, cfg string) *platform {
	t.Helper()
	if code, out := run(t, "staff password for tests\n", "admin", "create", "--config", cfg,
		"--email", "ops@example.net", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("ezscale admin create: exit %d\n%s", code, out)
	}
	root, err := testbin.Root()
	if err != nil {
		t.Fatal(err)
	}
	catalog := filepath.Join(root, "config", "examples", "demo-catalog.json")
	for i, want := range []string{"created", "unchanged"} {
		code, out := run(t, "", "catalog", "import", "--config", cfg, catalog)
		if code != 0 || !strings.Contains(out, want+" ") || strings.Contains(out, map[int]string{0: "unchanged", 1: "created"}[i]) {
			t.Fatalf("ezscale catalog import (run %d): exit %d, want every plan %s\n%s", i+1, code, want, out)
		}
	}
	p := &platform{c: serve(t, cfg)}
	p.staff = p.login(t, "ops@example.net", "staff password for tests")
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	p.must(t, 201, "POST", "/api/v1/auth/signup", "", map[string]any{"email": "ada@example.net", "password": "correct horse battery"}, &signup)
	p.account = signup.Account.ID
	p.customer = p.login(t, "ada@example.net", "correct horse battery")
	return p
}

func (p *platform) login(t testing.TB, email, password string) string {
	t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	p.must(t, 200, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password}, &out)
	return out.Token
}

func (p *platform) must(t testing.TB, want int, method, path, token string, in, out any) {
	t.Helper()
	if code := p.c.call(t, method, path, token, in, out); code != want {
		t.Fatalf("%s %s: status %d, want %d", method, path, code, want)
	}
}

// serviceJSON is the service as the API shows it.
type serviceJSON struct {
	ID                string     `json:"id"`
	Status            string     `json:"status"`
	Environment       string     `json:"environment"`
	ExternalID        string     `json:"external_id"`
	ProvisionAttempts int        `json:"provision_attempts"`
	LastError         string     `json:"last_error"`
	PeriodEnd         *time.Time `json:"period_end"`
	Suspensions       []string   `json:"suspensions"`
}

func (p *platform) service(t *testing.T, id string) serviceJSON {
	t.Helper()
	var s serviceJSON
	p.must(t, 200, "GET", "/api/v1/accounts/"+p.account+"/services/"+id, p.customer, nil, &s)
	return s
}

// waitService polls the customer's view of the service until cond holds.
func (p *platform) waitService(t *testing.T, id, what string, cond func(serviceJSON) bool) serviceJSON {
	t.Helper()
	var s serviceJSON
	testkit.WaitFor(t, "service "+id+" "+what, func() bool {
		s = p.service(t, id)
		return cond(s)
	})
	return s
}

// credit adds credit to the customer's account by a staff adjustment.
func (p *platform) credit(t testing.TB, amount int64) {
	t.Helper()
	p.must(t, 201, "POST", "/api/v1/admin/accounts/"+p.account+"/credit/adjustments", p.staff,
		map[string]any{"amount": amount, "description": "test credit " + strconv.FormatInt(amount, 10)}, nil)
}

// order orders a plan (paid with credit) and returns the service's id.
func (p *platform) order(t testing.TB, plan string) string {
	t.Helper()
	var res struct {
		Service serviceJSON `json:"service"`
		Invoice struct {
			Status string `json:"status"`
		} `json:"invoice"`
	}
	p.must(t, 201, "POST", "/api/v1/accounts/"+p.account+"/orders", p.customer, map[string]any{"plan_id": plan, "cycle": "monthly"}, &res)
	if res.Invoice.Status != "paid" {
		t.Fatalf("the order invoice of %s is %s, want paid from credit", plan, res.Invoice.Status)
	}
	return res.Service.ID
}

// billingRun triggers a billing run as of a day and waits until its
// seven steps have finished, each successfully.
func (p *platform) billingRun(t *testing.T, asOf time.Time) {
	t.Helper()
	var run struct {
		ID    string `json:"id"`
		Steps []struct {
			Step   string `json:"step"`
			Status string `json:"status"`
			Error  string `json:"error"`
		} `json:"steps"`
	}
	p.must(t, 202, "POST", "/api/v1/admin/billing/runs", p.staff, map[string]any{"as_of": asOf.UTC().Format(time.RFC3339)}, &run)
	testkit.WaitFor(t, "billing run "+run.ID, func() bool {
		p.must(t, 200, "GET", "/api/v1/admin/billing/runs/"+run.ID, p.staff, nil, &run)
		if len(run.Steps) < 7 {
			return false
		}
		for _, s := range run.Steps {
			if s.Status == "running" {
				return false
			}
		}
		return true
	})
	for _, s := range run.Steps {
		if s.Status != "succeeded" {
			t.Fatalf("billing run %s: step %s %s: %s", run.ID, s.Step, s.Status, s.Error)
		}
	}
}
