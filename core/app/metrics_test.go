package app_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

const metricsToken = "metrics-token-0123456789abcdef"

// get fetches url with an optional bearer token.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func metricsConfig(t *testing.T, opts func(*config.Config)) *config.Config {
	cfg := config.Default()
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Database.URL = databasetest.URL(t, database.SQLite)
	cfg.Sources = map[string]string{}
	opts(&cfg)
	return &cfg
}

// TestMetricsAreNotOpenOnTheAPIListener: by default /metrics is served
// nowhere; with server.metrics_listen it is served on that listener only;
// with only server.metrics_token it is served on the API listener to
// callers that present the token.
func TestMetricsAreNotOpenOnTheAPIListener(t *testing.T) {
	t.Parallel()
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		b := start(t, metricsConfig(t, func(*config.Config) {}), nil)
		if code, body := get(t, b.base+"/metrics", ""); code != http.StatusNotFound || strings.Contains(body, "go_goroutines") {
			t.Errorf("GET /metrics on the API listener: %d %.100s, want 404", code, body)
		}
		if b.app.MetricsAddr() != "" {
			t.Errorf("a metrics listener without server.metrics_listen: %s", b.app.MetricsAddr())
		}
	})
	t.Run("own listener", func(t *testing.T) {
		t.Parallel()
		b := start(t, metricsConfig(t, func(c *config.Config) { c.Server.MetricsListen = "127.0.0.1:0" }), nil)
		if code, _ := get(t, b.base+"/metrics", ""); code != http.StatusNotFound {
			t.Errorf("GET /metrics on the API listener: %d, want 404", code)
		}
		code, body := get(t, "http://"+b.app.MetricsAddr()+"/metrics", "")
		if code != http.StatusOK || !strings.Contains(body, "ezscale_http_requests_total") || !strings.Contains(body, "go_goroutines") {
			t.Errorf("GET /metrics on the metrics listener: %d %.200s", code, body)
		}
		if code, _ := get(t, "http://"+b.app.MetricsAddr()+"/api/v1/me", ""); code != http.StatusNotFound {
			t.Errorf("the metrics listener serves the API: %d", code)
		}
	})
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		b := start(t, metricsConfig(t, func(c *config.Config) { c.Server.MetricsToken = metricsToken }), nil)
		for _, token := range []string{"", "wrong", metricsToken + "x"} {
			if code, body := get(t, b.base+"/metrics", token); code != http.StatusUnauthorized || strings.Contains(body, "go_goroutines") {
				t.Errorf("GET /metrics with token %q: %d %.100s, want 401", token, code, body)
			}
		}
		if code, body := get(t, b.base+"/metrics", metricsToken); code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Errorf("GET /metrics with the token: %d %.100s", code, body)
		}
	})
	t.Run("own listener and token", func(t *testing.T) {
		t.Parallel()
		b := start(t, metricsConfig(t, func(c *config.Config) {
			c.Server.MetricsListen, c.Server.MetricsToken = "127.0.0.1:0", metricsToken
		}), nil)
		if code, _ := get(t, b.base+"/metrics", metricsToken); code != http.StatusNotFound {
			t.Errorf("GET /metrics on the API listener: %d, want 404", code)
		}
		if code, _ := get(t, "http://"+b.app.MetricsAddr()+"/metrics", ""); code != http.StatusUnauthorized {
			t.Errorf("GET /metrics without the token on the metrics listener: %d, want 401", code)
		}
		if code, _ := get(t, "http://"+b.app.MetricsAddr()+"/metrics", metricsToken); code != http.StatusOK {
			t.Errorf("GET /metrics with the token on the metrics listener: %d, want 200", code)
		}
	})
}
