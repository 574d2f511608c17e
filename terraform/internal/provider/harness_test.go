package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/ezscale/platform/plugins/kasm/fakekasm"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/plugins/virtfusion/fakevirtfusion"
	"github.com/ezscale/platform/tests/testbin"
)

// The acceptance tests run the real terraform CLI (TF_ACC_TERRAFORM_PATH,
// else terraform on the PATH; nothing is downloaded) against one real
// `ezscale serve` shared by the package's tests, started by the first test
// that needs it: SQLite, the three
// provisioner plugins pointed at their fakes (in this process), the demo
// catalog, a staff admin, and a customer with credit and a personal API
// token, which the provider gets from EZSCALE_ENDPOINT and EZSCALE_TOKEN.
var sandbox *sandboxEnv

// skipReason says why the acceptance tests skip (no terraform CLI).
var skipReason string

var factories = map[string]func() (tfprotov6.ProviderServer, error){
	"ezscale": providerserver.NewProtocol6WithError(New("test")()),
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		tf, _ = exec.LookPath("terraform")
	}
	if tf == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "FATAL: the terraform CLI is not installed (not on the PATH, TF_ACC_TERRAFORM_PATH unset): "+
				"the provider's acceptance tests need it; install Terraform >= 1.11 (.ci/run refuses to run without it)")
			return 1
		}
		skipReason = "the terraform CLI is not installed (set TF_ACC_TERRAFORM_PATH or put terraform on the PATH)"
		return m.Run()
	}
	for k, v := range map[string]string{"TF_ACC": "1", "TF_ACC_TERRAFORM_PATH": tf, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"} {
		os.Setenv(k, v)
	}
	// No user CLI configuration (a developer's dev_overrides) may change
	// which provider the tests run.
	os.Setenv("TF_CLI_CONFIG_FILE", os.DevNull)
	code := m.Run()
	if providerBinDir != "" {
		_ = os.RemoveAll(providerBinDir)
	}
	if sandbox != nil {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "ezscale serve log (last 200 lines):\n%s\n", tail(sandbox.logs.String(), 200))
		}
		sandbox.stop()
	}
	return code
}

// The provider built once per test binary for the tests that run terraform
// as a process (killed_apply_test.go).
var (
	providerBinOnce sync.Once
	providerBinDir  string
	providerBinErr  error
)

var (
	sandboxOnce sync.Once
	sandboxErr  error
)

// acc returns the sandbox, started by the first test that needs it, or
// skips the test when there is no terraform.
func acc(t testing.TB) *sandboxEnv {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	sandboxOnce.Do(func() {
		env, err := startSandbox()
		if err != nil {
			sandboxErr = err
			if env != nil {
				sandboxErr = fmt.Errorf("%w\n%s", err, env.logs.String())
				env.stop()
			}
			return
		}
		sandbox = env
		os.Setenv("EZSCALE_ENDPOINT", env.base)
		os.Setenv("EZSCALE_TOKEN", env.token)
	})
	if sandboxErr != nil {
		t.Fatalf("starting the sandbox: %v", sandboxErr)
	}
	return sandbox
}

type sandboxEnv struct {
	dir     string
	bin     string
	cmd     *exec.Cmd
	done    chan error
	logs    *lockedBuffer
	base    string
	servers []*httptest.Server
	vfRoot  string

	staff   string // staff admin's session token
	token   string // the customer's personal API token
	session string // the customer's session token
	account string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func startSandbox() (*sandboxEnv, error) {
	dir, err := os.MkdirTemp("", "ezscale-tfacc-")
	if err != nil {
		return nil, err
	}
	e := &sandboxEnv{dir: dir, logs: &lockedBuffer{}, done: make(chan error, 1)}
	if e.bin, err = testbin.Core(); err != nil {
		return e, err
	}
	bins := map[string]string{}
	for _, name := range []string{"virtfusion", "pterodactyl", "kasm"} {
		if bins[name], err = testbin.Plugin(name); err != nil {
			return e, err
		}
	}
	vf := httptest.NewServer(fakevirtfusion.New(fakevirtfusion.Options{HypervisorScale: 4}))
	pt := httptest.NewServer(fakepterodactyl.New(fakepterodactyl.Options{Scale: 4, ApplicationRateLimit: -1, ClientRateLimit: -1}))
	ks := httptest.NewServer(fakekasm.New(fakekasm.Options{}))
	e.servers = []*httptest.Server{vf, pt, ks}
	e.vfRoot = vf.URL
	cfg := fmt.Sprintf(`server {
  listen     = "127.0.0.1:0"
  public_url = "http://portal.example.test"
}
database {
  url            = "sqlite:%s"
  max_open_conns = 20
}
log {
  level  = "info"
  format = "json"
}
jobs {
  fetch_poll_interval = "100ms"
  fetch_cooldown      = "10ms"
}
billing {
  retry_base             = "1s"
  provision_max_attempts = 12
  install_poll_interval  = "1s"
}
notifications {
  email_plugin = ""
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
`, filepath.Join(dir, "ezscale.db"), bins["virtfusion"], vf.URL+fakevirtfusion.BasePath,
		bins["pterodactyl"], pt.URL, fakepterodactyl.DefaultApplicationKey, fakepterodactyl.DefaultClientKey,
		bins["kasm"], ks.URL, fakekasm.DefaultAPIKey, fakekasm.DefaultAPISecret)
	cfgPath := filepath.Join(dir, "ezscale.hcl")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return e, err
	}
	if out, err := e.run("staff password for tests\n", "admin", "create", "--config", cfgPath,
		"--email", "ops@example.net", "--role", "admin", "--password-stdin"); err != nil {
		return e, fmt.Errorf("ezscale admin create: %w\n%s", err, out)
	}
	root, err := testbin.Root()
	if err != nil {
		return e, err
	}
	if out, err := e.run("", "catalog", "import", "--config", cfgPath, filepath.Join(root, "config", "examples", "demo-catalog.json")); err != nil {
		return e, fmt.Errorf("ezscale catalog import: %w\n%s", err, out)
	}
	if err := e.serve(cfgPath); err != nil {
		return e, err
	}
	if e.staff, err = e.login("ops@example.net", "staff password for tests"); err != nil {
		return e, err
	}
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if err := e.call("POST", "/api/v1/auth/signup", "", map[string]any{"email": "tf@example.net", "password": "correct horse battery"}, 201, &signup); err != nil {
		return e, err
	}
	e.account = signup.Account.ID
	if e.session, err = e.login("tf@example.net", "correct horse battery"); err != nil {
		return e, err
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := e.call("POST", "/api/v1/me/tokens", e.session, map[string]any{"name": "terraform", "scopes": []string{
		"account:read", "services:read", "services:write", "billing:read", "billing:write"}}, 201, &tok); err != nil {
		return e, err
	}
	e.token = tok.Token
	// Credit enough for every order the tests and benchmarks make.
	if err := e.call("POST", "/api/v1/admin/accounts/"+e.account+"/credit/adjustments", e.staff,
		map[string]any{"amount": 100_000_000, "description": "terraform acceptance tests"}, 201, nil); err != nil {
		return e, err
	}
	return e, nil
}

func (e *sandboxEnv) run(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = append(os.Environ(), "EZSCALE_PLUGINS_DATA_DIR="+filepath.Join(e.dir, "plugins"))
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e *sandboxEnv) serve(cfgPath string) error {
	cmd := exec.Command(e.bin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "EZSCALE_PLUGINS_DATA_DIR="+filepath.Join(e.dir, "plugins"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	e.cmd = cmd
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = e.logs.Write(append(append([]byte(nil), line...), '\n'))
			var entry struct {
				Message string `json:"@message"`
				Addr    string `json:"addr"`
			}
			if json.Unmarshal(line, &entry) == nil && entry.Message == "serving" {
				select {
				case addr <- entry.Addr:
				default:
				}
			}
		}
		e.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		e.base = "http://" + a
		return nil
	case err := <-e.done:
		e.done <- err
		return fmt.Errorf("ezscale serve exited before serving: %v", err)
	case <-time.After(3 * time.Minute):
		return errors.New("ezscale serve did not start serving")
	}
}

func (e *sandboxEnv) stop() {
	if e.cmd != nil && e.cmd.ProcessState == nil {
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	for _, s := range e.servers {
		s.Close()
	}
	_ = os.RemoveAll(e.dir)
}

func (e *sandboxEnv) login(email, password string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := e.call("POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password}, 200, &out)
	return out.Token, err
}

// call sends a JSON request and decodes the answer, which must have status
// want.
func (e *sandboxEnv) call(method, path, token string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// must is call failing the test.
func (e *sandboxEnv) must(t testing.TB, method, path, token string, in any, want int, out any) {
	t.Helper()
	if err := e.call(method, path, token, in, want, out); err != nil {
		t.Fatal(err)
	}
}

// fault posts to the VirtFusion fake's /__fake/ control API.
func (e *sandboxEnv) fault(t *testing.T, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(e.vfRoot+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("POST %s: status %d", path, res.StatusCode)
	}
}

// services lists the account's services as the customer sees them.
func (e *sandboxEnv) services(t testing.TB) []serviceView {
	t.Helper()
	var all []serviceView
	cursor := ""
	for {
		var page struct {
			Data       []serviceView `json:"data"`
			NextCursor string        `json:"next_cursor"`
		}
		e.must(t, "GET", "/api/v1/accounts/"+e.account+"/services?limit=200&cursor="+cursor, e.token, nil, 200, &page)
		all = append(all, page.Data...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

func (e *sandboxEnv) service(t testing.TB, id string) serviceView {
	t.Helper()
	var s serviceView
	e.must(t, "GET", "/api/v1/accounts/"+e.account+"/services/"+id, e.token, nil, 200, &s)
	return s
}

type serviceView struct {
	ID            string `json:"id"`
	Label         string `json:"label"`
	Status        string `json:"status"`
	PlanID        string `json:"plan_id"`
	Cycle         string `json:"cycle"`
	PendingChange *struct {
		PlanID string `json:"plan_id"`
		Cycle  string `json:"cycle"`
	} `json:"pending_change"`
	CancelAtPeriodEnd bool `json:"cancel_at_period_end"`
}
