package discordapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors returned before any request is sent.
var (
	// ErrNoBotToken is returned by bot calls on a client without a token.
	ErrNoBotToken = errors.New("no bot token configured")
	// ErrInvalidID is returned when an argument is not a snowflake.
	ErrInvalidID = errors.New("not a Discord snowflake id")
	// ErrInvalidWebhookURL is returned for a webhook URL that does not end
	// in /webhooks/{id}/{token}.
	ErrInvalidWebhookURL = errors.New("not a Discord webhook URL")
)

// JSON error codes documented by Discord that callers act on.
const (
	CodeUnknownChannel      = 10003
	CodeUnknownGuild        = 10004
	CodeUnknownMember       = 10007
	CodeUnknownRole         = 10011
	CodeUnknownWebhook      = 10015
	CodeMissingAccess       = 50001
	CodeCannotSendEmpty     = 50006
	CodeMissingPermissions  = 50013
	CodeInvalidWebhookToken = 50027
	CodeInvalidFormBody     = 50035
)

// APIError is a non-2xx, non-429 answer from Discord.
type APIError struct {
	// Route is the documented route template of the call, for example
	// "POST /channels/{channel.id}/invites"; it never contains a token.
	Route      string
	StatusCode int
	// Code is Discord's JSON error code; 0 for the generic HTTP errors such
	// as the 401 for a bad token.
	Code    int
	Message string
	// Errors is the nested field-error object of a 50035 Invalid Form Body.
	Errors json.RawMessage
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if e.Code != 0 {
		return fmt.Sprintf("discordapi: %s: %d %s (code %d)", e.Route, e.StatusCode, msg, e.Code)
	}
	return fmt.Sprintf("discordapi: %s: %d %s", e.Route, e.StatusCode, msg)
}

func parseAPIError(route string, status int, body []byte) *APIError {
	e := &APIError{Route: route, StatusCode: status}
	var wire struct {
		Code    int             `json:"code"`
		Message string          `json:"message"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &wire) == nil {
		e.Code, e.Message, e.Errors = wire.Code, wire.Message, wire.Errors
	} else {
		// Cloudflare and proxies answer with HTML; keep a short, safe excerpt.
		e.Message = strings.TrimSpace(truncate(string(body), 200))
	}
	return e
}

// RateLimitError means a call was not made, or was refused with a 429 too many
// times, because of a rate limit. Discord did not act on it; it may be sent
// again after RetryAfter.
type RateLimitError struct {
	Route      string
	RetryAfter time.Duration
	// Global is true for the bot-wide limit rather than the route's bucket.
	Global bool
	// Scope is X-RateLimit-Scope of the last 429 (user, global or shared);
	// empty when the client refused to wait without asking Discord.
	Scope string
	// Bucket is X-RateLimit-Bucket when Discord named it.
	Bucket string
	// Message is Discord's message, or why the client did not wait.
	Message string
}

func (e *RateLimitError) Error() string {
	kind := "rate limited"
	if e.Global {
		kind = "globally rate limited"
	}
	return fmt.Sprintf("discordapi: %s: %s, retry after %s: %s", e.Route, kind, e.RetryAfter, e.Message)
}

// IsNotFound reports whether err is a 404 from Discord: an unknown channel,
// guild, member, role, webhook or route.
func IsNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound
}

// HasCode reports whether err is an *APIError with the JSON error code code.
func HasCode(err error, code int) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
