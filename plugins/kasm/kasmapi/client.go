package kasmapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/rest"
)

// Error is an error answer from Kasm.
type Error = apierror.Error

// Classification helpers, re-exported so callers need only this package.
var (
	AsError        = apierror.As
	IsUnauthorized = apierror.IsUnauthorized
	IsForbidden    = apierror.IsForbidden
	IsAuth         = apierror.IsAuth
	IsRateLimited  = apierror.IsRateLimited
	IsServerError  = apierror.IsServerError
	RetryAfter     = apierror.RetryAfter
	IsTransport    = rest.IsTransport
)

// Messages Kasm answers. The first two come with HTTP 400 from its
// authentication layer for an unknown user_id or kasm_id; delete_user of an
// unknown user answers 400 "Unknown user (<id>)"; get_user of an unknown
// user answers 400 "Invalid Request"; update_user without a username
// answers 400 "Username is not present".
const (
	msgInvalidUserID     = "Invalid user_id"
	msgInvalidKasmID     = "Invalid kasm_id"
	msgUnknownUser       = "Unknown user"
	MsgInvalidRequest    = "Invalid Request"
	MsgNoUsername        = "Username is not present"
	MsgNoImage           = "No Default Image Found"
	MsgSessionIsStarting = "This session is currently starting."
)

// ErrNoSuchUser marks a get_user lookup that Kasm refused: it answers an
// unknown user with an error ("Invalid Request"), not with an empty user.
var ErrNoSuchUser = errors.New("kasm: no such user")

// IsNotFound reports a 404, a refused user lookup (ErrNoSuchUser), or
// Kasm's answers for an unknown user or session.
func IsNotFound(err error) bool {
	if errors.Is(err, ErrNoSuchUser) {
		return true
	}
	e, ok := apierror.As(err)
	if !ok {
		return false
	}
	if e.StatusCode == http.StatusNotFound {
		return true
	}
	return strings.HasPrefix(e.Message, msgInvalidUserID) || strings.HasPrefix(e.Message, msgInvalidKasmID) ||
		strings.HasPrefix(e.Message, msgUnknownUser)
}

// IsInBodyError reports an error Kasm answered with HTTP 200.
func IsInBodyError(err error) bool {
	e, ok := apierror.As(err)
	return ok && e.StatusCode < 300
}

// Config configures a Client.
type Config struct {
	// BaseURL is the Kasm root, e.g. https://kasm.example.com.
	BaseURL      string
	APIKey       string
	APIKeySecret string
	// Timeout bounds each request; 0 means 30s.
	Timeout    time.Duration
	HTTPClient *http.Client
}

// Client calls the Kasm developer API. It is safe for concurrent use.
type Client struct {
	rest        *rest.Client
	key, secret string
	base        string
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" || cfg.APIKeySecret == "" {
		return nil, errors.New("kasmapi: api key and secret are required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	rc, err := rest.New(base+"/api/public", cfg.HTTPClient, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("kasmapi: %w", err)
	}
	rc.UserAgent = "ezscale-plugin-kasm"
	rc.DecodeErrorFunc = func(e *Error, body []byte) {
		if msg := errorMessage(body); msg != "" {
			e.Message, e.Messages = msg, []string{msg}
		}
	}
	rc.BodyErrorFunc = errorMessage
	return &Client{rest: rc, key: cfg.APIKey, secret: cfg.APIKeySecret, base: base}, nil
}

// errorMessage returns error_message (or "error", which some handlers use).
// A session that is still starting is not an error, though get_kasm_status
// then carries error_message ("This session is currently starting.") beside
// operational_status: the status is read first.
func errorMessage(body []byte) string {
	var b struct {
		ErrorMessage      string `json:"error_message"`
		Error             string `json:"error"`
		OperationalStatus string `json:"operational_status"`
	}
	if json.Unmarshal(body, &b) != nil || IsPending(b.OperationalStatus) {
		return ""
	}
	if b.ErrorMessage != "" {
		return b.ErrorMessage
	}
	return b.Error
}

// URL turns a kasm_url path into the user-facing URL.
func (c *Client) URL(kasmURL string) string {
	return c.base + kasmURL
}

func (c *Client) call(ctx context.Context, name string, fields map[string]any, out any) error {
	body := map[string]any{"api_key": c.key, "api_key_secret": c.secret}
	for k, v := range fields {
		body[k] = v
	}
	if _, err := c.rest.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/" + name, Body: body}, out); err != nil {
		return fmt.Errorf("kasm: %w", err)
	}
	return nil
}

// fieldsOf turns a request struct into body fields.
func fieldsOf(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, u NewUser) (*User, error) {
	var out struct {
		User User `json:"user"`
	}
	if err := c.call(ctx, "create_user", map[string]any{"target_user": u}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// User returns a user by id. An unknown id is ErrNoSuchUser (Kasm answers
// 400 "Invalid Request").
func (c *Client) User(ctx context.Context, userID string) (*User, error) {
	return c.getUser(ctx, map[string]string{"user_id": userID}, false)
}

// UserByUsername returns a user by username. Any lookup Kasm refuses (400,
// or an error in HTTP 200) is ErrNoSuchUser: create_user, unique on
// username, is the judge of whether it exists.
func (c *Client) UserByUsername(ctx context.Context, username string) (*User, error) {
	return c.getUser(ctx, map[string]string{"username": username}, true)
}

// getUser looks a user up. Kasm answers an unknown user with an error
// (classic builds: HTTP 400 "Invalid Request"), not an empty answer; that is
// ErrNoSuchUser, and so is an error in HTTP 200 when byName. Credentials,
// rate limits and outages stay what they are.
func (c *Client) getUser(ctx context.Context, target map[string]string, byName bool) (*User, error) {
	var out struct {
		User *User `json:"user"`
	}
	if err := c.call(ctx, "get_user", map[string]any{"target_user": target}, &out); err != nil {
		if e, ok := apierror.As(err); ok && (e.StatusCode == http.StatusBadRequest || byName && e.StatusCode < 300) {
			return nil, fmt.Errorf("%w: %w", ErrNoSuchUser, err)
		}
		return nil, err
	}
	if out.User == nil {
		return nil, fmt.Errorf("%w: get_user answered no user", ErrNoSuchUser)
	}
	return out.User, nil
}

// UserUpdate is the target_user of update_user; nil fields are left as
// they are. Username is required: Kasm refuses an update without it (400
// "Username is not present"), so send the user's current one.
type UserUpdate struct {
	UserID   string  `json:"user_id"`
	Username string  `json:"username"`
	Password *string `json:"password,omitempty"`
	Locked   *bool   `json:"locked,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
}

// UpdateUser changes a user (password, locked, disabled: disabling a user
// is how Kasm suspends it and its ability to start sessions).
func (c *Client) UpdateUser(ctx context.Context, u UserUpdate) (*User, error) {
	var out struct {
		User User `json:"user"`
	}
	if err := c.call(ctx, "update_user", map[string]any{"target_user": u}, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// DeleteUser deletes a user; force also deletes the user's sessions.
func (c *Client) DeleteUser(ctx context.Context, userID string, force bool) error {
	return c.call(ctx, "delete_user", map[string]any{"target_user": map[string]string{"user_id": userID}, "force": force}, nil)
}

// RequestKasm starts a session for a user.
func (c *Client) RequestKasm(ctx context.Context, req RequestKasm) (*NewKasm, error) {
	var out NewKasm
	if err := c.call(ctx, "request_kasm", fieldsOf(req), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// KasmStatus returns a session's status.
func (c *Client) KasmStatus(ctx context.Context, kasmID, userID string) (*KasmStatus, error) {
	var out KasmStatus
	if err := c.call(ctx, "get_kasm_status", map[string]any{"kasm_id": kasmID, "user_id": userID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DestroyKasm ends a session.
func (c *Client) DestroyKasm(ctx context.Context, kasmID, userID string) error {
	return c.call(ctx, "destroy_kasm", map[string]any{"kasm_id": kasmID, "user_id": userID}, nil)
}

// Kasms lists every session.
func (c *Client) Kasms(ctx context.Context) ([]Kasm, error) {
	var out struct {
		CurrentTime string `json:"current_time"`
		Kasms       []Kasm `json:"kasms"`
	}
	if err := c.call(ctx, "get_kasms", nil, &out); err != nil {
		return nil, err
	}
	return out.Kasms, nil
}

// Images lists the workspace images.
func (c *Client) Images(ctx context.Context) ([]Image, error) {
	var out struct {
		Images []Image `json:"images"`
	}
	if err := c.call(ctx, "get_images", nil, &out); err != nil {
		return nil, err
	}
	return out.Images, nil
}

// NormalizeID returns a Kasm id as 32 lowercase hex digits; Kasm accepts
// both that and the hyphenated UUID form.
func NormalizeID(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, "-", ""))
}
