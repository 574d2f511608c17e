package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	bm "github.com/ezscale/platform/plugins/battlemetrics/battlemetricsapi"
	"github.com/ezscale/platform/sdk"
)

// DefaultListingURL is the root of BattleMetrics' public server pages.
const DefaultListingURL = "https://www.battlemetrics.com"

func schema() *sdk.Schema {
	return sdk.NewSchema().
		String("api_url", sdk.Default(bm.DefaultBaseURL), sdk.Doc("BattleMetrics API root; point it at a fake for tests")).
		String("api_token", sdk.Secret(),
			sdk.Doc("optional personal access token: raises the limit from 60 to 300 requests per minute")).
		String("game", sdk.Doc(`BattleMetrics game id used to narrow searches ("rust", "minecraft", …) when the core names none`)).
		String("listing_url", sdk.Default(DefaultListingURL), sdk.Doc("root of the public server pages linked from the console")).
		Int("requests_per_minute", sdk.Default(int64(0)),
			sdk.Doc("the plugin's own request budget: 0 keeps to the API's documented limit (60/min and 15/s without a token, 300/min and 45/s with one), -1 turns the budget off (fakes and benchmarks only)")).
		Int("max_pages", sdk.Default(int64(5)), sdk.Doc("search result pages (100 servers each) read when finding a server by address")).
		Duration("timeout", sdk.Default("15s"), sdk.Doc("per HTTP request to BattleMetrics"))
}

// settings is a parsed, validated config and the client built from it.
type settings struct {
	client     *bm.Client
	game       string
	listingURL string
	maxPages   int
	limit      *budget
}

func parseConfig(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	fail := func(field, format string, args ...any) {
		diags = append(diags, sdk.FieldDiagnostic(field, "%s", fmt.Sprintf(format, args...))...)
	}
	for _, field := range []string{"api_url", "listing_url"} {
		u, err := url.Parse(cfg.String(field))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fail(field, "must be an absolute http(s) URL")
		}
	}
	rpm := cfg.Int("requests_per_minute")
	if rpm < -1 {
		fail("requests_per_minute", "must be -1 (off), 0 (the API's limit) or a positive number")
	}
	if n := cfg.Int("max_pages"); n < 1 || n > 100 {
		fail("max_pages", "must be between 1 and 100")
	}
	if cfg.Duration("timeout") <= 0 {
		fail("timeout", "must be positive")
	}
	if diags.HasErrors() {
		return nil, diags
	}
	token := cfg.String("api_token")
	client, err := bm.New(bm.Config{
		BaseURL:    cfg.String("api_url"),
		Token:      token,
		HTTPClient: &http.Client{Timeout: cfg.Duration("timeout")},
		UserAgent:  "ezscale-plugin-battlemetrics/" + Version,
	})
	if err != nil {
		return nil, sdk.FieldDiagnostic("api_url", "%s", err.Error())
	}
	perMinute, burst := 60, 15
	if token != "" {
		perMinute, burst = 300, 45
	}
	switch {
	case rpm > 0:
		perMinute, burst = int(rpm), max(1, min(burst, int(rpm)))
	case rpm < 0:
		perMinute = 0
	}
	return &settings{
		client:     client,
		game:       cfg.String("game"),
		listingURL: strings.TrimRight(cfg.String("listing_url"), "/"),
		maxPages:   int(cfg.Int("max_pages")),
		limit:      newBudget(perMinute, burst, time.Now),
	}, nil
}
