package tests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pquerna/otp/totp"

	"github.com/ezscale/platform/core/httpapi/apitest"
	"github.com/ezscale/platform/core/testkit"
	"github.com/ezscale/platform/tests/testbin"
)

// stripeMockInstall is how .ci/run and docs/demo.md install stripe-mock.
const stripeMockInstall = "go install github.com/stripe/stripe-mock@v0.203.0"

// findStripeMock looks for stripe-mock as scripts/demo.sh does: in PATH,
// then in $(go env GOPATH)/bin.
func findStripeMock() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.SplitN(strings.TrimSpace(string(out)), string(os.PathListSeparator), 2)[0], "bin", "stripe-mock")
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
	}
	return ""
}

// sandbox is a running `make demo`: the core and the fakes' addresses.
type sandbox struct {
	*platform
	// urls are the fakes' base URLs by the names ezscale-fakes prints
	// (virtfusion, pterodactyl, kasm, discord, stripe, mail, smtp).
	urls map[string]string
	data string
}

// TestDemo runs the sandbox exactly as `make demo` does (scripts/demo.sh
// with the binaries it expects, config/examples/demo.hcl with nothing
// exported) and walks docs/demo.md through it:
//   - the demo config validates with an empty environment;
//   - GET /api/v1/instance names the mail catcher;
//   - a customer signs up and opens the verification mail through the
//     catcher's API; the free tier refuses an unverified address and then
//     a user without two-factor, and is provisioned once both are there;
//   - staff grant credit; a VPS, a game server and a workspace are ordered
//     and reach active at the fakes; the VPS restarts;
//   - the signup's Discord invite is accepted at the Discord fake, the
//     account is linked, and role sync gives the vps and gaming roles, in
//     the fake's state and its log;
//   - by card through the Stripe plugin against stripe-mock: a card is
//     saved, a top-up is paid, an automatic top-up follows a threshold, a
//     declined test card fails its top-up, and paying overrides the
//     budget's hard stop, which resumes the suspended services;
//   - a provisioning that cannot succeed posts a staff alert to the
//     Discord webhook;
//   - SIGTERM to the script stops the core and every fake, stripe-mock
//     included, leaving nothing listening or running.
//
// stripe-mock is required under CI=true; locally, without it, the card
// steps are skipped with a message (the rest still runs).
//
// It runs beside the other tests: the fakes, stripe-mock and the core
// listen on ports picked at start, the sandbox's data is under the test's
// directory, and what stop checks is the script's own process group.
func TestDemo(t *testing.T) {
	t.Parallel()
	stripeMock := findStripeMock()
	if stripeMock == "" && os.Getenv("CI") == "true" {
		t.Fatalf("stripe-mock is required under CI=true; install it with: %s", stripeMockInstall)
	}
	root, err := testbin.Root()
	if err != nil {
		t.Fatal(err)
	}
	demoConfig := filepath.Join(root, "config", "examples", "demo.hcl")
	if res := runCLI(t, nil, "", "config", "validate", "--config", demoConfig); res.code != 0 {
		t.Fatalf("ezscale config validate on demo.hcl with nothing exported: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	s := startSandbox(t, root, stripeMock)

	var instance struct {
		ProductName string `json:"product_name"`
		Sandbox     *struct {
			MailURL string `json:"mail_url"`
		} `json:"sandbox"`
	}
	s.must(t, 200, "GET", "/api/v1/instance", "", nil, &instance)
	if instance.Sandbox == nil || instance.Sandbox.MailURL != s.urls["mail"] {
		t.Errorf("GET /api/v1/instance: sandbox %+v, want the mail catcher %s", instance.Sandbox, s.urls["mail"])
	}

	// A customer signs up; the account is created with the user, and the
	// verification mail reaches the catcher.
	const email, password = "alice@example.net", "correct horse battery"
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	s.must(t, 201, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": password}, &signup)
	s.account = signup.Account.ID
	s.customer = s.login(t, email, password)

	// The free tier wants a verified address, then two-factor.
	s.wantProblem(t, 422, "free_tier_unverified", "POST", "/api/v1/accounts/"+s.account+"/orders", s.customer,
		map[string]any{"plan_id": "vps-micro-free", "cycle": "monthly"})
	token := s.verificationToken(t, email)
	s.must(t, 204, "POST", "/api/v1/auth/verify-email", "", map[string]any{"token": token}, nil)
	var me struct {
		User struct {
			EmailVerified bool `json:"email_verified"`
		} `json:"user"`
	}
	s.must(t, 200, "GET", "/api/v1/me", s.customer, nil, &me)
	if !me.User.EmailVerified {
		t.Fatal("the address is not verified after following the mailed link")
	}
	s.wantProblem(t, 422, "free_tier_2fa_required", "POST", "/api/v1/accounts/"+s.account+"/orders", s.customer,
		map[string]any{"plan_id": "vps-micro-free", "cycle": "monthly"})
	var enroll struct {
		Secret string `json:"secret"`
	}
	s.must(t, 200, "POST", "/api/v1/me/2fa/enroll", s.customer, map[string]any{}, &enroll)
	code, err := totp.GenerateCode(enroll.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s.must(t, 200, "POST", "/api/v1/me/2fa/confirm", s.customer, map[string]any{"code": code}, nil)

	// Staff grant credit; the paid plans and the free one are provisioned.
	s.staff = s.login(t, "admin@demo.test", "demo admin password")
	s.credit(t, 5000)
	var vps string
	for _, plan := range []string{"vps-micro-free", "vps-small", "minecraft-2gb", "workspace-chrome"} {
		id := s.order(t, plan)
		svc := s.waitService(t, id, "active", func(s serviceJSON) bool { return s.Status == "active" })
		if svc.ExternalID == "" {
			t.Fatalf("%s is active without a backend id", plan)
		}
		if plan == "vps-small" {
			vps = id
		}
	}
	var power struct {
		Action string `json:"action"`
	}
	s.must(t, 200, "POST", "/api/v1/accounts/"+s.account+"/services/"+vps+"/power", s.customer, map[string]any{"action": "restart"}, &power)
	if power.Action != "restart" {
		t.Fatalf("power answered action %q, want restart", power.Action)
	}

	s.discord(t)
	if stripeMock != "" {
		s.cards(t, vps)
	}
	s.staffAlert(t)
	s.stop(t)
	if stripeMock == "" {
		t.Skipf("card payments were not tried: stripe-mock is not installed (%s); the rest of the sandbox works", stripeMockInstall)
	}
}

// startSandbox runs scripts/demo.sh with every fake on a free port and the
// core on addr, and waits until the core is ready.
func startSandbox(t *testing.T, root, stripeMock string) *sandbox {
	t.Helper()
	bin := t.TempDir()
	for name, path := range provisionerBins(t) {
		if err := os.Symlink(path, filepath.Join(bin, "ezscale-plugin-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	for name, path := range map[string]string{"ezscale": ezscaleBin, "ezscale-plugin-email": emailPlugin} {
		if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"stripe", "discord"} {
		path, err := testbin.Plugin(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(path, filepath.Join(bin, "ezscale-plugin-"+name)); err != nil {
			t.Fatal(err)
		}
	}
	fakes, err := testbin.Fakes()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fakes, filepath.Join(bin, "ezscale-fakes")); err != nil {
		t.Fatal(err)
	}

	addr := testkit.UnusedAddr(t)
	data := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(),
		"EZSCALE_DEMO_BIN="+bin,
		"EZSCALE_DEMO_DATA="+data,
		"EZSCALE_SERVER_LISTEN="+addr,
		"EZSCALE_SERVER_PUBLIC_URL=http://"+addr,
	)
	for _, name := range []string{"VIRTFUSION", "PTERODACTYL", "KASM", "DISCORD", "STRIPE", "MAIL", "SMTP", "BATTLEMETRICS", "GAMETRACKER"} {
		cmd.Env = append(cmd.Env, "EZSCALE_DEMO_"+name+"_ADDR=127.0.0.1:0")
	}
	if stripeMock != "" {
		cmd.Env = append(cmd.Env, "EZSCALE_DEMO_STRIPE_MOCK="+stripeMock)
	}
	logs := &testkit.LogBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Its own process group, so a failed test can stop the script and
	// everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("make demo output:\n%s", logs.String())
			if b, err := os.ReadFile(filepath.Join(data, "fakes.log")); err == nil {
				t.Logf("fakes log:\n%s", b)
			}
		}
	})

	base := "http://" + addr
	testkit.WaitFor(t, "the demo core to be ready", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("scripts/demo.sh exited before serving: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	s := &sandbox{platform: &platform{c: &core{base: base, cmd: cmd, logs: logs, done: done}}, data: data, urls: fakeURLs(t, data)}
	want := []string{"battlemetrics", "discord", "gametracker", "kasm", "mail", "pterodactyl", "smtp", "virtfusion"}
	if stripeMock != "" {
		want = append(want, "stripe")
		slices.Sort(want)
	}
	var got []string
	for name := range s.urls {
		got = append(got, name)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("fakes started (-want +got):\n%s", diff)
	}
	return s
}

// fakeLine is a fake's "<name> <base URL>" line in the fakes' log.
var fakeLine = regexp.MustCompile(`^([a-z]+) ([a-z]+://127\.0\.0\.1:[0-9]+\S*)$`)

// fakeURLs reads the fakes' addresses from their log.
func fakeURLs(t *testing.T, data string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(data, "fakes.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	urls := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := fakeLine.FindStringSubmatch(sc.Text()); m != nil {
			urls[m[1]] = m[2]
		}
	}
	return urls
}

// fakesLog is what the fakes logged so far.
func (s *sandbox) fakesLog(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.data, "fakes.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// wantProblem sends a request and checks the problem's status and code.
func (s *sandbox) wantProblem(t *testing.T, status int, code, method, path, token string, in any) {
	t.Helper()
	r := apitest.New(s.c.base).Do(t, method, path, token, in)
	got, body := r.Status, r.Body
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &p)
	if got != status || p.Code != code {
		t.Fatalf("%s %s: %d %s, want %d %s", method, path, got, body, status, code)
	}
}

// verificationToken opens the verification mail through the mail
// catcher's API, as docs/demo.md does with curl, and returns the token in
// its link.
func (s *sandbox) verificationToken(t *testing.T, email string) string {
	t.Helper()
	var id string
	testkit.WaitFor(t, "the verification mail to reach the catcher", func() bool {
		var list struct {
			Data []struct {
				ID      string `json:"id"`
				Subject string `json:"subject"`
			} `json:"data"`
		}
		getJSON(t, s.urls["mail"]+"/api/v1/messages?to="+email, &list)
		for _, m := range list.Data {
			if strings.Contains(m.Subject, "Confirm your email") {
				id = m.ID
				return true
			}
		}
		return false
	})
	var msg struct {
		Links []string `json:"links"`
	}
	getJSON(t, s.urls["mail"]+"/api/v1/messages/"+id, &msg)
	for _, l := range msg.Links {
		if _, tok, ok := strings.Cut(l, "/verify-email?token="); ok && strings.HasPrefix(l, s.c.base) {
			return tok
		}
	}
	t.Fatalf("no verification link in the mail: %v", msg.Links)
	return ""
}

// discord accepts the signup invite at the Discord fake, links the
// account, and waits for role sync to give the roles the services earn.
func (s *sandbox) discord(t *testing.T) {
	t.Helper()
	const discordUser = "200000000000000001"
	type status struct {
		Invite *struct {
			Code string `json:"code"`
			URL  string `json:"url"`
		} `json:"invite"`
		Roles []string `json:"roles"`
	}
	var st status
	testkit.WaitFor(t, "the signup's Discord invite", func() bool {
		s.must(t, 200, "GET", "/api/v1/me/discord", s.customer, nil, &st)
		return st.Invite != nil
	})
	if st.Invite.URL != "https://discord.gg/"+st.Invite.Code {
		t.Errorf("invite URL %q", st.Invite.URL)
	}
	if code, body := httpJSON(t, "POST", s.urls["discord"]+"/__fake/invites/"+st.Invite.Code+"/join", "",
		map[string]string{"user_id": discordUser, "username": "alice"}); code != 200 {
		t.Fatalf("joining with the invite: %d %s", code, body)
	}
	s.must(t, 200, "PUT", "/api/v1/me/discord/link", s.customer, map[string]any{"discord_user_id": discordUser}, nil)

	want := []string{"gaming", "vps"}
	testkit.WaitFor(t, "role sync to give the gaming and vps roles at Discord", func() bool {
		var state struct {
			Guilds []struct {
				Members []struct {
					ID    string   `json:"id"`
					Roles []string `json:"roles"`
				} `json:"members"`
			} `json:"guilds"`
		}
		getJSON(t, s.urls["discord"]+"/__fake/state", &state)
		for _, m := range state.Guilds[0].Members {
			if m.ID == discordUser {
				return slices.Equal(m.Roles, want)
			}
		}
		return false
	})
	testkit.WaitFor(t, "the core to record the synced roles", func() bool {
		s.must(t, 200, "GET", "/api/v1/me/discord", s.customer, nil, &st)
		return slices.Equal(st.Roles, want)
	})
	log := s.fakesLog(t)
	for _, line := range []string{"discord: invite " + st.Invite.Code + " to #welcome created", "discord: alice (" + discordUser + ") joined",
		"discord: role vps given to alice", "discord: role gaming given to alice"} {
		if !strings.Contains(log, line) {
			t.Errorf("the fakes' log lacks %q", line)
		}
	}
}

type topUpJSON struct {
	ID      string `json:"id"`
	Source  string `json:"source"`
	Amount  int64  `json:"amount"`
	Status  string `json:"status"`
	Failure string `json:"failure"`
}

// cards pays by card through the Stripe plugin and stripe-mock: a saved
// Visa, a top-up, an automatic top-up, a declined card, and the budget's
// pay-to-override.
func (s *sandbox) cards(t *testing.T, vps string) {
	t.Helper()
	acct := "/api/v1/accounts/" + s.account
	var visa struct {
		ID      string `json:"id"`
		Brand   string `json:"brand"`
		Last4   string `json:"last4"`
		Default bool   `json:"default"`
	}
	s.must(t, 201, "POST", acct+"/payment-methods", s.customer, map[string]any{"token": "pm_card_visa"}, &visa)
	if visa.Brand != "visa" || visa.Last4 != "4242" || !visa.Default {
		t.Errorf("saved card %+v, want the default visa 4242", visa)
	}

	balance := func() int64 {
		var c struct {
			Amount int64 `json:"amount"`
		}
		s.must(t, 200, "GET", acct+"/credit", s.customer, nil, &c)
		return c.Amount
	}
	topUp := func(body map[string]any) string {
		var tu topUpJSON
		s.must(t, 202, "POST", acct+"/credit/top-ups", s.customer, body, &tu)
		return tu.ID
	}
	settled := func(id string) topUpJSON {
		var tu topUpJSON
		testkit.WaitFor(t, "top-up "+id+" to settle", func() bool {
			s.must(t, 200, "GET", acct+"/credit/top-ups/"+id, s.customer, nil, &tu)
			return tu.Status != "pending"
		})
		return tu
	}

	before := balance()
	if tu := settled(topUp(map[string]any{"amount": 2000})); tu.Status != "succeeded" {
		t.Fatalf("card top-up: %+v", tu)
	}
	if got := balance(); got != before+2000 {
		t.Errorf("credit after a 20.00 top-up: %d, want %d", got, before+2000)
	}

	// Auto top-up: below the threshold, the saved card is charged.
	s.must(t, 200, "PUT", acct+"/credit/auto-top-up", s.customer, map[string]any{"enabled": true, "threshold": balance() + 1000, "amount": 1500}, nil)
	testkit.WaitFor(t, "an automatic top-up", func() bool {
		var list struct {
			Data []topUpJSON `json:"data"`
		}
		s.must(t, 200, "GET", acct+"/credit/top-ups", s.customer, nil, &list)
		return slices.ContainsFunc(list.Data, func(tu topUpJSON) bool { return tu.Source == "auto" && tu.Status == "succeeded" && tu.Amount == 1500 })
	})
	s.must(t, 200, "PUT", acct+"/credit/auto-top-up", s.customer, map[string]any{"enabled": false}, nil)

	// A declined test card fails its top-up with Stripe's message.
	var declined struct {
		ID    string `json:"id"`
		Last4 string `json:"last4"`
	}
	s.must(t, 201, "POST", acct+"/payment-methods", s.customer, map[string]any{"token": "pm_card_chargeDeclined"}, &declined)
	if declined.Last4 != "0002" {
		t.Errorf("the declining test card shows last4 %q, want 0002", declined.Last4)
	}
	if tu := settled(topUp(map[string]any{"amount": 1000, "payment_method_id": declined.ID})); tu.Status != "failed" || tu.Failure != "Your card was declined." {
		t.Errorf("top-up with a declined card: %+v", tu)
	}

	// The budget's hard stop suspends the services; paying by card
	// overrides it for the period and resumes them.
	s.must(t, 200, "PUT", acct+"/budget", s.customer, map[string]any{"monthly_limit": 1000, "hard_stop": true}, nil)
	s.waitService(t, vps, "suspended by the budget", func(s serviceJSON) bool { return slices.Contains(s.Suspensions, "budget") })
	if tu := settled(topUp(map[string]any{"amount": 500})); tu.Status != "succeeded" {
		t.Fatalf("overriding top-up: %+v", tu)
	}
	s.waitService(t, vps, "resumed after the payment", func(s serviceJSON) bool { return s.Status == "active" && len(s.Suspensions) == 0 })
	var budget struct {
		Period struct {
			OverriddenAt   *time.Time `json:"overridden_at"`
			OverrideAmount int64      `json:"override_amount"`
		} `json:"period"`
		Suspended []string `json:"suspended_service_ids"`
	}
	s.must(t, 200, "GET", acct+"/budget", s.customer, nil, &budget)
	if budget.Period.OverriddenAt == nil || budget.Period.OverrideAmount != 500 || len(budget.Suspended) != 0 {
		t.Errorf("budget after paying: %+v", budget)
	}
	s.must(t, 204, "DELETE", acct+"/budget", s.customer, nil, nil)
	if !strings.Contains(s.fakesLog(t), "stripe: POST /v1/payment_intents -> 402") {
		t.Error("the fakes' log does not show the declined charge")
	}
}

// staffAlert makes the VirtFusion fake refuse the next server for good and
// checks that the failed service is posted to the staff alerts webhook.
func (s *sandbox) staffAlert(t *testing.T) {
	t.Helper()
	vf := strings.TrimSuffix(s.urls["virtfusion"], "/api/v1")
	if code, body := httpJSON(t, "POST", vf+"/__fake/failures", "",
		map[string]any{"route": "POST /api/v1/servers", "status": 422, "message": "The package is not available."}); code >= 300 {
		t.Fatalf("injecting a failure: %d %s", code, body)
	}
	s.credit(t, 1000)
	id := s.order(t, "vps-small")
	s.waitService(t, id, "failed", func(s serviceJSON) bool { return s.Status == "failed" })
	testkit.WaitFor(t, "the staff alert at the Discord webhook", func() bool {
		var state struct {
			WebhookMessages []struct {
				WebhookID string          `json:"webhook_id"`
				Body      json.RawMessage `json:"body"`
			} `json:"webhook_messages"`
		}
		getJSON(t, s.urls["discord"]+"/__fake/state", &state)
		return slices.ContainsFunc(state.WebhookMessages, func(m struct {
			WebhookID string          `json:"webhook_id"`
			Body      json.RawMessage `json:"body"`
		}) bool {
			return m.WebhookID == "1400000000000000021" && bytes.Contains(m.Body, []byte(id))
		})
	})
}

// stop sends SIGTERM to the script: the core and every fake stop, nothing
// listens, and nothing of the process group (stripe-mock included) is left.
func (s *sandbox) stop(t *testing.T) {
	t.Helper()
	if err := s.c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.c.done:
	case <-time.After(time.Minute):
		t.Fatal("scripts/demo.sh did not exit after SIGTERM")
	}
	addrs := []string{strings.TrimPrefix(s.c.base, "http://")}
	for _, u := range s.urls {
		_, rest, _ := strings.Cut(u, "://")
		host, _, _ := strings.Cut(rest, "/")
		addrs = append(addrs, host)
	}
	for _, a := range addrs {
		if c, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after the demo stopped", a)
		}
	}
	testkit.WaitFor(t, "every process of the sandbox to exit", func() bool {
		return errors.Is(syscall.Kill(-s.c.cmd.Process.Pid, 0), syscall.ESRCH)
	})
}

// httpJSON sends a JSON request and returns the status and body.
func httpJSON(t *testing.T, method, url, token string, in any) (int, []byte) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	code, body := httpJSON(t, "GET", url, "", nil)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}
