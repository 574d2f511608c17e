package discordapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Discord's REST API, version 10.
const DefaultBaseURL = "https://discord.com/api/v10"

// Defaults used when the matching Config field is zero.
const (
	DefaultUserAgentURL = "https://github.com/ezscale/platform"
	DefaultVersion      = "1.0.0"
	DefaultMaxWait      = 30 * time.Second
	DefaultMaxRetries   = 3
	DefaultTimeout      = 15 * time.Second
)

// maxResponseBytes bounds how much of a response body is read; Discord's
// answers to these calls are a few kilobytes.
const maxResponseBytes = 1 << 20

// Config configures a Client.
type Config struct {
	// BaseURL is the bot API root, DefaultBaseURL when empty. Tests point it
	// at fakediscord.
	BaseURL string
	// BotToken authenticates bot calls as "Authorization: Bot <token>". It may
	// be empty for a client that only executes webhooks; bot calls then fail
	// with ErrNoBotToken before any request.
	BotToken string
	// UserAgentURL and Version fill Discord's required User-Agent,
	// "DiscordBot ($url, $versionNumber)".
	UserAgentURL string
	Version      string
	// HTTPClient sends the requests; a client with DefaultTimeout when nil.
	HTTPClient *http.Client
	// MaxWait is the longest the client sleeps for one rate-limit wait.
	// Longer waits fail at once with a *RateLimitError.
	MaxWait time.Duration
	// MaxRetries is how many times one call is retried after a 429. Zero
	// means DefaultMaxRetries; a negative value disables retries.
	MaxRetries int
}

// Client calls Discord's REST API. It is safe for concurrent use; its
// rate-limit state is shared by every call made through it, so one bot should
// use one Client.
type Client struct {
	baseURL    *url.URL
	token      string
	userAgent  string
	httpClient *http.Client
	maxWait    time.Duration
	maxRetries int
	limits     *limiter

	goneMu sync.Mutex
	// gone holds the webhooks (id/token) that answered 404: Discord asks
	// that they are not called again.
	gone map[string]bool
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("discordapi: base URL %q is not an absolute http(s) URL", base)
	}
	c := &Client{
		baseURL:    u,
		token:      cfg.BotToken,
		userAgent:  UserAgent(cfg.UserAgentURL, cfg.Version),
		httpClient: cfg.HTTPClient,
		maxWait:    cfg.MaxWait,
		maxRetries: cfg.MaxRetries,
		limits:     newLimiter(),
		gone:       make(map[string]bool),
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxWait
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	return c, nil
}

// UserAgent formats Discord's required User-Agent; empty arguments take the
// package defaults.
func UserAgent(projectURL, version string) string {
	if projectURL == "" {
		projectURL = DefaultUserAgentURL
	}
	if version == "" {
		version = DefaultVersion
	}
	return fmt.Sprintf("DiscordBot (%s, %s)", projectURL, version)
}

// call describes one API request.
type call struct {
	method string
	// route is the documented route template; it names the call in errors
	// and keys its rate-limit bucket until Discord names the bucket.
	route string
	// major is the route's major parameter (channel, guild or webhook),
	// which Discord counts separately inside one bucket.
	major string
	// url is the full request URL.
	url    string
	body   any
	bot    bool
	reason string
	// webhook is the id/token key of a webhook call, for the gone list.
	webhook string
}

func (c *Client) botURL(segments ...string) string {
	return c.baseURL.JoinPath(segments...).String()
}

// do sends c, honouring and updating the rate limits, and decodes a 2xx body
// into out when out is not nil.
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if cl.bot && c.token == "" {
		return fmt.Errorf("discordapi: %s: %w", cl.route, ErrNoBotToken)
	}
	var payload []byte
	if cl.body != nil {
		var err error
		if payload, err = json.Marshal(cl.body); err != nil {
			return fmt.Errorf("discordapi: %s: encoding body: %w", cl.route, err)
		}
	}
	for attempt := 0; ; attempt++ {
		if err := c.limits.wait(ctx, cl.route, cl.major, c.maxWait); err != nil {
			return err
		}
		status, header, body, err := c.send(ctx, cl, payload)
		if err != nil {
			return err
		}
		c.limits.update(cl.route, cl.major, header)
		if status == http.StatusTooManyRequests {
			rl := parseRateLimit(cl.route, header, body)
			c.limits.limited(cl.route, cl.major, rl)
			if attempt >= c.maxRetries {
				return rl
			}
			continue
		}
		if status < 200 || status > 299 {
			apiErr := parseAPIError(cl.route, status, body)
			if cl.webhook != "" && status == http.StatusNotFound {
				c.goneMu.Lock()
				c.gone[cl.webhook] = true
				c.goneMu.Unlock()
			}
			return apiErr
		}
		if out != nil && status != http.StatusNoContent {
			if err := json.Unmarshal(body, out); err != nil {
				return fmt.Errorf("discordapi: %s: decoding response: %w", cl.route, err)
			}
		}
		return nil
	}
}

// send performs one HTTP exchange. Transport errors are reported with the
// route rather than the URL, because a webhook URL carries its token.
func (c *Client) send(ctx context.Context, cl call, payload []byte) (int, http.Header, []byte, error) {
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("discordapi: %s: building request: %w", cl.route, stripURL(err))
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.bot {
		req.Header.Set("Authorization", "Bot "+c.token)
	}
	if cl.reason != "" {
		// Discord reads the audit-log reason URL-encoded so it can carry UTF-8.
		req.Header.Set("X-Audit-Log-Reason", url.PathEscape(cl.reason))
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("discordapi: %s: %w", cl.route, stripURL(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("discordapi: %s: reading response: %w", cl.route, stripURL(err))
	}
	return resp.StatusCode, resp.Header, data, nil
}

// stripURL drops the *url.Error wrapper, whose text includes the request URL.
func stripURL(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
