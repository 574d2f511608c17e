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

// Messages Kasm answers for unknown objects: the first two come with HTTP
// 400 from its authentication layer; the user one with HTTP 200 from
// get_user/delete_user [inferred].
const (
	msgInvalidUserID = "Invalid user_id"
	msgInvalidKasmID = "Invalid kasm_id"
	MsgUserNotFound  = "User does not exist"
	MsgNoImage       = "No Default Image Found"
)

// IsNotFound reports a 404 or Kasm's answers for an unknown user or session.
func IsNotFound(err error) bool {
	e, ok := apierror.As(err)
	if !ok {
		return false
	}
	if e.StatusCode == http.StatusNotFound {
		return true
	}
	return strings.HasPrefix(e.Message, msgInvalidUserID) || strings.HasPrefix(e.Message, msgInvalidKasmID) ||
		e.Message == MsgUserNotFound
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
func errorMessage(body []byte) string {
	var b struct {
		ErrorMessage string `json:"error_message"`
		Error        string `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
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

// User returns a user by id.
func (c *Client) User(ctx context.Context, userID string) (*User, error) {
	return c.getUser(ctx, map[string]string{"user_id": userID})
}

// UserByUsername returns a user by username.
func (c *Client) UserByUsername(ctx context.Context, username string) (*User, error) {
	return c.getUser(ctx, map[string]string{"username": username})
}

func (c *Client) getUser(ctx context.Context, target map[string]string) (*User, error) {
	var out struct {
		User *User `json:"user"`
	}
	if err := c.call(ctx, "get_user", map[string]any{"target_user": target}, &out); err != nil {
		return nil, err
	}
	if out.User == nil {
		return nil, &Error{Method: http.MethodPost, Path: "/get_user", StatusCode: http.StatusOK, Message: MsgUserNotFound}
	}
	return out.User, nil
}

// UserUpdate is the target_user of update_user; nil fields are left as
// they are.
type UserUpdate struct {
	UserID   string  `json:"user_id"`
	Username string  `json:"username,omitempty"`
	Password *string `json:"password,omitempty"`
	Locked   *bool   `json:"locked,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
}

// UpdateUser changes a user (password, locked, disabled). update_user is
// part of the classic developer API, though the reference lists only the
// calls above it.
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
