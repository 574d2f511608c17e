package paymentstest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/plugins/stripe/stripemock"
	"github.com/ezscale/platform/tests/testbin"
)

// WebhookSecret signs the webhooks the Stripe plugin of Stripe.Plugin
// verifies (Sign).
const WebhookSecret = "whsec_paymentstest"

// Stripe is the real Stripe plugin (ezscale-plugin-stripe, built once per
// test binary) and the stripe-mock it talks to, shared by a package's
// card-payment tests.
type Stripe struct {
	bin     string
	mock    *stripemock.Server
	mockErr error
}

// StartStripe builds the plugin and starts stripe-mock. A stripe-mock that
// is not installed is remembered rather than returned, so only the tests
// that need it skip (or fail under CI=true, stripemock.Require). Call it
// from TestMain and Close it after the tests.
func StartStripe() (*Stripe, error) {
	bin, err := testbin.Plugin("stripe")
	if err != nil {
		return nil, err
	}
	s := &Stripe{bin: bin}
	s.mock, s.mockErr = stripemock.Start()
	return s, nil
}

// MainWithStripe is a TestMain's body for a package whose card-payment
// tests share one Stripe: it starts it (StartStripe) into *shared, runs the
// tests and closes it, and returns the exit code:
//
//	func TestMain(m *testing.M) { os.Exit(paymentstest.MainWithStripe(m, &stripe)) }
func MainWithStripe(m *testing.M, shared **Stripe) int {
	s, err := StartStripe()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	*shared = s
	return m.Run()
}

// Close stops stripe-mock.
func (s *Stripe) Close() {
	if s.mock != nil {
		s.mock.Close()
	}
}

// Plugin is the spec of the Stripe plugin as the gateway name, talking to
// stripe-mock behind stripemock.TestMode (Stripe's idempotency and test
// cards) until the test ends, for the test's plugin host.
func (s *Stripe) Plugin(t testing.TB, name string) pluginhost.Spec {
	t.Helper()
	m := stripemock.Require(t, s.mock, s.mockErr)
	srv := httptest.NewServer(stripemock.NewTestMode(m.URL))
	t.Cleanup(srv.Close)
	return pluginhost.Spec{Name: name, Path: s.bin, Config: map[string]any{
		"secret_key": "sk_test_paymentstest", "webhook_secret": WebhookSecret, "api_base_url": srv.URL, "max_network_retries": 0,
	}}
}

// Sign signs a webhook body as Stripe does, with WebhookSecret.
func Sign(body []byte) string {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(WebhookSecret))
	mac.Write([]byte(ts + "." + string(body)))
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
