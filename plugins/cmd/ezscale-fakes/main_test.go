package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/stripe/stripemock"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the command with args until the test ends and returns the
// addresses it printed (want of them) and its log.
func start(t *testing.T, want int, args ...string) (map[string]string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, logs)
		pw.Close()
	}()
	urls := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(urls) < want && sc.Scan() {
		name, u, _ := strings.Cut(sc.Text(), " ")
		urls[name] = u
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not stop")
		}
	})
	if len(urls) < want {
		cancel()
		t.Fatalf("printed %v, want %d addresses; log:\n%s", urls, want, logs.String())
	}
	return urls, logs
}

func request(t *testing.T, method, url, auth, userAgent, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if userAgent != "" {
		req.Header.Set("User-Agent", userAgent)
	}
	if strings.HasPrefix(body, "amount=") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestRunServesTheSandbox: with every address on port 0 the command serves
// the three panel fakes, the seeded Discord fake and the mail catcher, each
// answering with the credentials the sandbox's config uses.
func TestRunServesTheSandbox(t *testing.T) {
	t.Parallel()
	urls, logs := start(t, 8, "-virtfusion", "127.0.0.1:0", "-pterodactyl", "127.0.0.1:0", "-kasm", "127.0.0.1:0",
		"-discord", "127.0.0.1:0", "-mail", "127.0.0.1:0", "-smtp", "127.0.0.1:0", "-no-rate-limits",
		"-battlemetrics", "127.0.0.1:0", "-gametracker", "127.0.0.1:0")

	type probe struct{ Method, URL, Auth, UserAgent, Body string }
	probes := map[string]probe{
		"virtfusion":  {"GET", urls["virtfusion"] + "/connect", "Bearer vf-test-token", "", ""},
		"pterodactyl": {"GET", urls["pterodactyl"] + "/api/application/nodes", "Bearer ptla_testapplicationkey0000000000000000000", "", ""},
		"kasm":        {"POST", urls["kasm"] + "/api/public/get_images", "", "", `{"api_key":"kasm-test-key","api_key_secret":"kasm-test-secret"}`},
		"discord": {"POST", urls["discord"] + "/api/v10/channels/" + DiscordWelcomeChannel + "/invites", "Bot " + DefaultDiscordBotToken,
			"DiscordBot (https://example.com, 1)", `{"max_uses":1,"unique":true}`},
		"discord webhook": {"POST", urls["discord"] + "/api/webhooks/" + DiscordAlertsWebhook + "/" + DefaultDiscordWebhookToken,
			"", "DiscordBot (https://example.com, 1)", `{"content":"hello"}`},
		"mail":          {"GET", urls["mail"] + "/", "", "", ""},
		"battlemetrics": {"GET", urls["battlemetrics"] + "/servers?filter%5Bgame%5D=rust", "Bearer bm-test-token", "", ""},
		"gametracker":   {"GET", urls["gametracker"] + "/server_info/127.0.0.1:1/", "", "Mozilla/5.0", ""},
	}
	got := map[string]int{}
	for name, p := range probes {
		got[name], _ = request(t, p.Method, p.URL, p.Auth, p.UserAgent, p.Body)
	}
	want := map[string]int{"virtfusion": 200, "pterodactyl": 200, "kasm": 200, "discord": 200, "discord webhook": 204, "mail": 200,
		"battlemetrics": 200, "gametracker": 404}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Mail sent to the SMTP listener is in the catcher's API.
	c, err := smtp.Dial(strings.TrimPrefix(urls["smtp"], "smtp://"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("noreply@demo.test", []string{"alice@example.net"}, strings.NewReader("Subject: Welcome\r\n\r\nHi.\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()
	_, body := request(t, "GET", urls["mail"]+"/api/v1/messages?to=alice@example.net", "", "", "")
	var list struct {
		Data []struct {
			Subject string `json:"subject"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil || len(list.Data) != 1 || list.Data[0].Subject != "Welcome" {
		t.Errorf("catcher's messages: %s (%v)", body, err)
	}
	for _, line := range []string{"discord: invite ", "discord: webhook message", "mail: message 1 from noreply@demo.test to alice@example.net: \"Welcome\""} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("log lacks %q:\n%s", line, logs.String())
		}
	}
}

// TestRunServesStripe: -stripe starts stripe-mock and serves it behind
// TestMode, so a charge with Stripe's test Visa succeeds. It needs
// stripe-mock (a failure under CI=true, a skip otherwise).
func TestRunServesStripe(t *testing.T) {
	t.Parallel()
	bin, err := stripemock.Find()
	stripemock.Require(t, &stripemock.Server{}, err)
	urls, logs := start(t, 1, "-virtfusion", "", "-pterodactyl", "", "-kasm", "", "-discord", "", "-mail", "", "-smtp", "", "-battlemetrics", "", "-gametracker", "",
		"-stripe", "127.0.0.1:0", "-stripe-mock", bin)
	form := url.Values{"amount": {"999"}, "currency": {"usd"}, "customer": {"cus_1"}, "payment_method": {"pm_card_visa"},
		"confirm": {"true"}, "off_session": {"true"}}
	status, body := request(t, "POST", urls["stripe"]+"/v1/payment_intents", "Bearer sk_test_demo", "", form.Encode())
	var pi struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &pi); err != nil || status != 200 || pi.Status != "succeeded" {
		t.Errorf("charge: %d %s", status, body)
	}
	if !strings.Contains(logs.String(), "stripe: POST /v1/payment_intents -> 200") {
		t.Errorf("log:\n%s", logs.String())
	}
}

func TestRunNeedsAFake(t *testing.T) {
	t.Parallel()
	err := run(t.Context(), []string{"-virtfusion", "", "-pterodactyl", "", "-kasm", "", "-discord", "", "-mail", "", "-smtp", "", "-battlemetrics", "", "-gametracker", ""}, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("run with every fake off succeeded")
	}
}
