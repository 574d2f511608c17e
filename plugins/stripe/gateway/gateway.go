package gateway

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Defaults for zero Config fields.
const (
	DefaultAPIBaseURL       = "https://api.stripe.com"
	DefaultTimeout          = 30 * time.Second
	DefaultWebhookTolerance = 5 * time.Minute
)

// Config configures a Gateway.
type Config struct {
	// SecretKey is a secret (sk_…) or restricted (rk_…) API key.
	SecretKey string
	// WebhookSecret is the endpoint's signing secret (whsec_…). Without it
	// ParseWebhook refuses every event.
	WebhookSecret string
	// APIBaseURL is Stripe's API root; tests point it at stripe-mock.
	APIBaseURL string
	// Timeout bounds one HTTP request to Stripe.
	Timeout time.Duration
	// MaxNetworkRetries is how often stripe-go retries a request that failed
	// in a way Stripe marks safe to retry (network errors, 409 conflicts,
	// some 5xx), reusing the idempotency key. Zero disables retries.
	MaxNetworkRetries int64
	// WebhookTolerance is how old a signed webhook may be (replay window).
	WebhookTolerance time.Duration
	// HTTPClient overrides the HTTP client; Timeout is ignored when set.
	HTTPClient *http.Client
	// Logger receives stripe-go's logs; nil logs nothing. Plugins must not
	// write to stdout, and stripe-go's default logger writes to stderr
	// outside the plugin's structured log.
	Logger stripe.LeveledLoggerInterface
}

// Gateway talks to one Stripe account. It is safe for concurrent use.
type Gateway struct {
	sc               *stripe.Client
	webhookSecret    string
	webhookTolerance time.Duration
}

// New validates cfg and returns a Gateway. It does not call Stripe.
func New(cfg Config) (*Gateway, error) {
	if err := ValidateSecretKey(cfg.SecretKey); err != nil {
		return nil, err
	}
	if cfg.WebhookSecret != "" && !strings.HasPrefix(cfg.WebhookSecret, "whsec_") {
		return nil, invalid("webhook_secret", "must start with whsec_")
	}
	base := cfg.APIBaseURL
	if base == "" {
		base = DefaultAPIBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, invalid("api_base_url", "must be an absolute http(s) URL")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.WebhookTolerance <= 0 {
		cfg.WebhookTolerance = DefaultWebhookTolerance
	}
	if cfg.MaxNetworkRetries < 0 {
		cfg.MaxNetworkRetries = 0
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: cfg.Timeout}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = &stripe.LeveledLogger{Level: stripe.LevelNull}
	}
	backends := stripe.NewBackendsWithConfig(&stripe.BackendConfig{
		URL:               stripe.String(strings.TrimRight(base, "/")),
		HTTPClient:        httpClient,
		MaxNetworkRetries: stripe.Int64(cfg.MaxNetworkRetries),
		LeveledLogger:     logger,
		EnableTelemetry:   stripe.Bool(false),
	})
	return &Gateway{
		sc:               stripe.NewClient(cfg.SecretKey, stripe.WithBackends(backends)),
		webhookSecret:    cfg.WebhookSecret,
		webhookTolerance: cfg.WebhookTolerance,
	}, nil
}

// ValidateSecretKey checks the shape of a Stripe API key without calling
// Stripe.
func ValidateSecretKey(key string) error {
	switch {
	case key == "":
		return invalid("secret_key", "is required")
	case strings.HasPrefix(key, "pk_"):
		return invalid("secret_key", "is a publishable key; a secret (sk_) or restricted (rk_) key is needed")
	case !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_"):
		return invalid("secret_key", "must be a secret (sk_) or restricted (rk_) key")
	}
	return nil
}

// Money is an amount in the currency's ISO 4217 minor unit.
type Money struct {
	AmountMinor int64
	// Currency is an ISO 4217 code, upper case.
	Currency string
}

// unsupportedCurrencies are currencies whose Stripe amount is not the
// ISO 4217 minor unit: Stripe keeps ISK (and, historically, UGX) as
// two-decimal while ISO 4217 gives them none.
var unsupportedCurrencies = map[string]bool{"ISK": true, "UGX": true}

// stripeCurrency checks m's currency and returns Stripe's lower-case form.
func (m Money) stripeCurrency(field string) (string, error) {
	c := m.Currency
	if len(c) != 3 || strings.ToUpper(c) != c || strings.ToLower(c) == c {
		return "", invalid(field+".currency", "%q is not an upper-case ISO 4217 code", c)
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return "", invalid(field+".currency", "%q is not an upper-case ISO 4217 code", c)
		}
	}
	if unsupportedCurrencies[c] {
		return "", &Error{Kind: NotSupported, Field: field + ".currency",
			Message: fmt.Sprintf("%s amounts on Stripe are not ISO 4217 minor units; refusing rather than risk a x100 error", c)}
	}
	return strings.ToLower(c), nil
}

func fromStripeMoney(amount int64, currency stripe.Currency) Money {
	return Money{AmountMinor: amount, Currency: strings.ToUpper(string(currency))}
}

// idempotencyKey scopes the caller's key to one operation: the core may use
// one key for a charge and the refund of it, which Stripe would otherwise
// answer with the first request's result.
func idempotencyKey(op, key string) string {
	return "ezscale:" + op + ":" + key
}

// maxIdempotencyKey is the caller's key length Stripe's 255-character limit
// leaves room for after the prefix.
const maxIdempotencyKey = 200

func checkIdempotencyKey(key string) error {
	switch {
	case key == "":
		return invalid("idempotency_key", "is required for a call that moves money or creates objects")
	case len(key) > maxIdempotencyKey:
		return invalid("idempotency_key", "is longer than %d characters", maxIdempotencyKey)
	}
	return nil
}
