package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/ezscale/platform/plugins/stripe/gateway"
	"github.com/ezscale/platform/plugins/stripe/stripemock"
)

// One stripe-mock serves every test of the package; it is stateless, so
// tests cannot disturb each other through it.
var (
	mock    *stripemock.Server
	mockErr error
)

func TestMain(m *testing.M) {
	mock, mockErr = stripemock.Start()
	code := m.Run()
	mock.Close()
	os.Exit(code)
}

const (
	testKey           = "sk_test_ezscale"
	testWebhookSecret = "whsec_test_secret"
)

// recorded is one request the proxy saw.
type recorded struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values
	Header http.Header
}

// canned is a response the proxy gives instead of forwarding.
type canned struct {
	status int
	header map[string]string
	body   string
}

// proxy sits between the gateway and stripe-mock: it records every request
// (stripe-mock validates them against Stripe's OpenAPI spec) and can answer
// a route itself, for outcomes stripe-mock cannot produce (declines, rate
// limits, outages, an empty search).
type proxy struct {
	mu       sync.Mutex
	requests []recorded
	canned   map[string][]canned
	url      string
}

func newProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	p := &proxy{canned: make(map[string][]canned)}
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		p.mu.Lock()
		p.requests = append(p.requests, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
			Form: form, Header: r.Header.Clone()})
		key := r.Method + " " + r.URL.Path
		var c *canned
		if q := p.canned[key]; len(q) > 0 {
			c = &q[0]
			p.canned[key] = q[1:]
		}
		p.mu.Unlock()
		if c != nil {
			for k, v := range c.header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(c.status)
			io.WriteString(w, c.body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

// answer makes the next request to "METHOD /path" get the given response.
func (p *proxy) answer(route string, c canned) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.canned[route] = append(p.canned[route], c)
}

func (p *proxy) recorded() []recorded {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]recorded(nil), p.requests...)
}

type testBundle struct {
	gw    *gateway.Gateway
	proxy *proxy
	ctx   context.Context
}

// setup returns a gateway that talks to stripe-mock through a recording
// proxy. cfg's zero fields are filled with test values.
func setup(t *testing.T, cfg gateway.Config) *testBundle {
	t.Helper()
	m := stripemock.Require(t, mock, mockErr)
	p := newProxy(t, m.URL)
	if cfg.SecretKey == "" {
		cfg.SecretKey = testKey
	}
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = testWebhookSecret
	}
	cfg.APIBaseURL = p.url
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	return &testBundle{gw: gw, proxy: p, ctx: context.Background()}
}
