package main

import (
	"fmt"
	"net/url"
	"time"

	"github.com/ezscale/platform/sdk"
)

// DefaultBaseURL is Anthropic's API root.
const DefaultBaseURL = "https://api.anthropic.com"

// maxTokensLimit is the largest max_tokens the Messages API takes.
const maxTokensLimit = 64000

// DefaultModel is the model used when the config names none: Anthropic's
// efficient general model (a config value, never hard-wired in calls).
const DefaultModel = "claude-sonnet-5-5"

func schema() *sdk.Schema {
	return sdk.NewSchema().
		String("api_key", sdk.Required(), sdk.Secret(),
			sdk.Doc(`Anthropic API key (x-api-key); give it from the environment, e.g. api_key = env("ANTHROPIC_API_KEY")`)).
		String("base_url", sdk.Default(DefaultBaseURL), sdk.Doc("API root; point it at a fake for tests")).
		String("model", sdk.Default(DefaultModel), sdk.Doc("model id, e.g. claude-sonnet-5-5 or claude-haiku-5-5")).
		Int("max_tokens", sdk.Default(int64(1024)),
			sdk.Doc("most output tokens per answer (1–64000); a request's max_output_tokens can only lower it")).
		String("company_name", sdk.Default("the hosting company"), sdk.Doc("how the assistant names the company it works for")).
		Int("max_retries", sdk.Default(int64(2)),
			sdk.Doc("retries of a refused request (429, 529, 5xx, connection errors) inside one answer, honouring retry-after")).
		Duration("timeout", sdk.Default("60s"), sdk.Doc("longest wait for one whole answer"))
}

// settings is a parsed, validated config.
type settings struct {
	apiKey     string
	baseURL    string
	model      string
	maxTokens  int64
	company    string
	maxRetries int
	timeout    time.Duration
}

func parseConfig(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	fail := func(field, format string, args ...any) {
		diags = append(diags, sdk.FieldDiagnostic(field, "%s", fmt.Sprintf(format, args...))...)
	}
	s := &settings{
		apiKey:     cfg.String("api_key"),
		baseURL:    cfg.String("base_url"),
		model:      cfg.String("model"),
		maxTokens:  cfg.Int("max_tokens"),
		company:    cfg.String("company_name"),
		maxRetries: int(cfg.Int("max_retries")),
		timeout:    cfg.Duration("timeout"),
	}
	if s.apiKey == "" {
		fail("api_key", "is required")
	}
	if u, err := url.Parse(s.baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fail("base_url", "must be an absolute http(s) URL")
	}
	if s.model == "" {
		fail("model", "is required")
	}
	if s.maxTokens < 1 || s.maxTokens > maxTokensLimit {
		fail("max_tokens", "must be between 1 and %d", maxTokensLimit)
	}
	if s.maxRetries < 0 || s.maxRetries > 10 {
		fail("max_retries", "must be between 0 and 10")
	}
	if s.timeout <= 0 {
		fail("timeout", "must be positive")
	}
	return s, diags
}
