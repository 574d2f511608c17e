package virtfusionapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/rest"
)

// Error is an error answer from VirtFusion.
type Error = apierror.Error

// Classification helpers, re-exported so callers need only this package.
var (
	IsUnauthorized  = apierror.IsUnauthorized
	IsForbidden     = apierror.IsForbidden
	IsNotFound      = apierror.IsNotFound
	IsConflict      = apierror.IsConflict
	IsUnprocessable = apierror.IsUnprocessable
	IsLocked        = apierror.IsLocked
	IsRateLimited   = apierror.IsRateLimited
	IsServerError   = apierror.IsServerError
	RetryAfter      = apierror.RetryAfter
	IsTransport     = rest.IsTransport
	AsError         = apierror.As
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root, e.g. https://cp.example.com/api/v1.
	BaseURL string
	// Token is the API token sent as a Bearer token.
	Token string
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
	// HTTPClient is optional.
	HTTPClient *http.Client
}

// Client calls the VirtFusion API. It is safe for concurrent use.
type Client struct {
	rest *rest.Client
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("virtfusionapi: token is required")
	}
	rc, err := rest.New(cfg.BaseURL, cfg.HTTPClient, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("virtfusionapi: %w", err)
	}
	rc.UserAgent = "ezscale-plugin-virtfusion"
	rc.PrepareFunc = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+cfg.Token) }
	rc.DecodeErrorFunc = decodeError
	return &Client{rest: rc}, nil
}

// decodeError reads VirtFusion's error bodies in the order the official WHMCS
// module does: validation "errors" (strings), then "msg", then Laravel's
// "message".
func decodeError(e *Error, body []byte) {
	var b struct {
		Errors  json.RawMessage `json:"errors"`
		Msg     string          `json:"msg"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &b) != nil {
		return
	}
	var list []string
	if json.Unmarshal(b.Errors, &list) != nil {
		// Laravel's default validation shape is {"field":["msg"]}.
		var byField map[string][]string
		if json.Unmarshal(b.Errors, &byField) == nil {
			for _, msgs := range byField {
				list = append(list, msgs...)
			}
		}
	}
	e.Messages = list
	switch {
	case len(list) > 0:
		e.Message = list[0]
	case b.Msg != "":
		e.Message, e.Messages = b.Msg, []string{b.Msg}
	case b.Message != "":
		e.Message, e.Messages = b.Message, []string{b.Message}
	}
	e.Capacity = isCapacity(e)
}

type data[T any] struct {
	Data T `json:"data"`
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, in, out any, expect ...int) error {
	_, err := c.rest.Do(ctx, rest.Request{Method: method, Path: path, Query: q, Body: in, Expect: expect}, out)
	if err != nil {
		return fmt.Errorf("virtfusion: %w", err)
	}
	return nil
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// Connect checks the URL and token (GET /connect).
func (c *Client) Connect(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/connect", nil, nil, nil, http.StatusOK)
}

// UserByExtRelationID finds the user this platform created with extRelationID.
// A 404 (IsNotFound) means there is none.
func (c *Client) UserByExtRelationID(ctx context.Context, extRelationID int64) (*User, error) {
	var out data[User]
	if err := c.do(ctx, http.MethodGet, "/users/"+id(extRelationID)+"/byExtRelation", nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// CreateUser creates a user; the answer carries its generated password.
func (c *Client) CreateUser(ctx context.Context, req CreateUserRequest) (*User, error) {
	var out data[User]
	if err := c.do(ctx, http.MethodPost, "/users", nil, req, &out, http.StatusCreated); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// DeleteUser deletes the user with extRelationID.
func (c *Client) DeleteUser(ctx context.Context, extRelationID int64) error {
	return c.do(ctx, http.MethodDelete, "/users/"+id(extRelationID)+"/byExtRelation", nil, nil, nil, http.StatusNoContent)
}

// ResetUserPassword sets a new panel password for the user and returns it.
func (c *Client) ResetUserPassword(ctx context.Context, extRelationID int64) (*UserPasswordReset, error) {
	var out data[UserPasswordReset]
	if err := c.do(ctx, http.MethodPost, "/users/"+id(extRelationID)+"/byExtRelation/resetPassword", nil, nil, &out, http.StatusCreated); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// ServerAuthenticationTokens returns SSO tokens logging the user into the
// panel page of serverID.
func (c *Client) ServerAuthenticationTokens(ctx context.Context, extRelationID, serverID int64) (*AuthenticationTokens, error) {
	var out data[struct {
		Authentication AuthenticationTokens `json:"authentication"`
	}]
	path := "/users/" + id(extRelationID) + "/serverAuthenticationTokens/" + id(serverID)
	if err := c.do(ctx, http.MethodPost, path, nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data.Authentication, nil
}

// Packages lists every package.
func (c *Client) Packages(ctx context.Context) ([]Package, error) {
	var out data[[]Package]
	if err := c.do(ctx, http.MethodGet, "/packages", nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Package returns one package.
func (c *Client) Package(ctx context.Context, packageID int64) (*Package, error) {
	var out data[Package]
	if err := c.do(ctx, http.MethodGet, "/packages/"+id(packageID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Results > 0 {
		q.Set("results", strconv.Itoa(o.Results))
	}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	return q
}

// HypervisorGroups returns one page of hypervisor groups.
func (c *Client) HypervisorGroups(ctx context.Context, opts ListOptions) (*Page[HypervisorGroup], error) {
	var out Page[HypervisorGroup]
	if err := c.do(ctx, http.MethodGet, "/compute/hypervisors/groups", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllHypervisorGroups walks every page of hypervisor groups.
func (c *Client) AllHypervisorGroups(ctx context.Context) ([]HypervisorGroup, error) {
	return all(ctx, func(ctx context.Context, page int) (*Page[HypervisorGroup], error) {
		return c.HypervisorGroups(ctx, ListOptions{Page: page, Results: 200})
	})
}

// HypervisorGroup returns one hypervisor group.
func (c *Client) HypervisorGroup(ctx context.Context, groupID int64) (*HypervisorGroup, error) {
	var out data[HypervisorGroup]
	if err := c.do(ctx, http.MethodGet, "/compute/hypervisors/groups/"+id(groupID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// HypervisorGroupResources returns the capacity of a group's hypervisors.
func (c *Client) HypervisorGroupResources(ctx context.Context, groupID int64) (*GroupResources, error) {
	var out data[GroupResources]
	if err := c.do(ctx, http.MethodGet, "/compute/hypervisors/groups/"+id(groupID)+"/resources", nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// Hypervisors returns one page of hypervisors.
func (c *Client) Hypervisors(ctx context.Context, opts ListOptions) (*Page[Hypervisor], error) {
	var out Page[Hypervisor]
	if err := c.do(ctx, http.MethodGet, "/compute/hypervisors", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateServer allocates a server (state "allocated"); BuildServer installs
// it. With dryRun the panel only validates the request.
func (c *Client) CreateServer(ctx context.Context, req CreateServerRequest, dryRun bool) (*Server, error) {
	var q url.Values
	if dryRun {
		q = url.Values{"dryRun": {"true"}}
	}
	var out data[Server]
	// A dry run answers 200: nothing was created.
	if err := c.do(ctx, http.MethodPost, "/servers", q, req, &out, http.StatusCreated, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// BuildServer queues the OS install of an allocated server.
func (c *Client) BuildServer(ctx context.Context, serverID int64, req BuildRequest) (*Server, error) {
	var out data[Server]
	if err := c.do(ctx, http.MethodPost, "/servers/"+id(serverID)+"/build", nil, req, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// Server returns a server; with remoteState it includes the live state read
// from the hypervisor.
func (c *Client) Server(ctx context.Context, serverID int64, remoteState bool) (*Server, error) {
	var q url.Values
	if remoteState {
		q = url.Values{"remoteState": {"true"}}
	}
	var out data[Server]
	if err := c.do(ctx, http.MethodGet, "/servers/"+id(serverID), q, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// ListServersOptions filters GET /servers.
type ListServersOptions struct {
	ListOptions
	// HypervisorID limits the list to one hypervisor.
	HypervisorID int64
}

// Servers returns one page of servers (type=simple).
func (c *Client) Servers(ctx context.Context, opts ListServersOptions) (*Page[ServerSummary], error) {
	q := opts.query()
	q.Set("type", "simple")
	if opts.HypervisorID > 0 {
		q.Set("hypervisorId", id(opts.HypervisorID))
	}
	var out Page[ServerSummary]
	if err := c.do(ctx, http.MethodGet, "/servers", q, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllServers walks every page of servers.
func (c *Client) AllServers(ctx context.Context) ([]ServerSummary, error) {
	return all(ctx, func(ctx context.Context, page int) (*Page[ServerSummary], error) {
		return c.Servers(ctx, ListServersOptions{ListOptions: ListOptions{Page: page, Results: 200}})
	})
}

// UserServers returns one page of the servers owned by a VirtFusion user
// id. Like every list it is Laravel-paginated (20 per page by default), so a
// caller looking for a server must walk every page: AllUserServers.
func (c *Client) UserServers(ctx context.Context, userID int64, opts ListOptions) (*Page[ServerSummary], error) {
	var out Page[ServerSummary]
	if err := c.do(ctx, http.MethodGet, "/servers/user/"+id(userID), opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllUserServers walks every page of a user's servers.
func (c *Client) AllUserServers(ctx context.Context, userID int64) ([]ServerSummary, error) {
	return all(ctx, func(ctx context.Context, page int) (*Page[ServerSummary], error) {
		return c.UserServers(ctx, userID, ListOptions{Page: page, Results: 200})
	})
}

// PanelURL resolves a path the panel answers with (an SSO
// endpoint_complete such as /authenticate/server/<uuid>?token1=…) against
// the panel's own origin: the API root's scheme and host, without /api/v1.
func (c *Client) PanelURL(ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("virtfusion: the panel answered an unusable URL %q: %w", ref, err)
	}
	origin := &url.URL{Scheme: c.rest.BaseURL.Scheme, Host: c.rest.BaseURL.Host, Path: "/"}
	return origin.ResolveReference(r).String(), nil
}

// DeleteServer deletes a server after delay (0 = now; at most 43800 minutes).
func (c *Client) DeleteServer(ctx context.Context, serverID int64, delay time.Duration) error {
	q := url.Values{"delay": {strconv.Itoa(int(delay / time.Minute))}}
	return c.do(ctx, http.MethodDelete, "/servers/"+id(serverID), q, nil, nil, http.StatusNoContent)
}

// SuspendServer suspends a server.
func (c *Client) SuspendServer(ctx context.Context, serverID int64) error {
	return c.do(ctx, http.MethodPost, "/servers/"+id(serverID)+"/suspend", nil, nil, nil, http.StatusNoContent)
}

// UnsuspendServer unsuspends a server.
func (c *Client) UnsuspendServer(ctx context.Context, serverID int64) error {
	return c.do(ctx, http.MethodPost, "/servers/"+id(serverID)+"/unsuspend", nil, nil, nil, http.StatusNoContent)
}

// Power queues a power action and returns its queue id (0 when the panel
// answered 204, which the official WHMCS module also accepts).
func (c *Client) Power(ctx context.Context, serverID int64, action PowerAction) (int64, error) {
	var out data[struct {
		QueueID int64 `json:"queueId"`
	}]
	path := "/servers/" + id(serverID) + "/power/" + url.PathEscape(string(action))
	if err := c.do(ctx, http.MethodPost, path, nil, nil, &out, http.StatusOK, http.StatusNoContent); err != nil {
		return 0, err
	}
	return out.Data.QueueID, nil
}

// ChangePackage moves a server to another package, applying the settings
// selected in opts. It returns the panel's informational messages.
func (c *Client) ChangePackage(ctx context.Context, serverID, packageID int64, opts ChangePackageOptions) ([]string, error) {
	var out struct {
		Info []string `json:"info"`
	}
	path := "/servers/" + id(serverID) + "/package/" + id(packageID)
	if err := c.do(ctx, http.MethodPut, path, nil, opts, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return out.Info, nil
}

// ModifyName renames a server.
func (c *Client) ModifyName(ctx context.Context, serverID int64, name string) error {
	body := map[string]string{"name": name}
	return c.do(ctx, http.MethodPut, "/servers/"+id(serverID)+"/modify/name", nil, body, nil, http.StatusCreated)
}

// ResetServerPassword queues a password reset for a system user of the
// server and returns the password it will set.
func (c *Client) ResetServerPassword(ctx context.Context, serverID int64, user string, sendMail bool) (*ServerPasswordReset, error) {
	body := map[string]any{"user": user, "sendMail": sendMail}
	var out data[ServerPasswordReset]
	if err := c.do(ctx, http.MethodPost, "/servers/"+id(serverID)+"/resetPassword", nil, body, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// Traffic returns the server's traffic, newest period first.
func (c *Client) Traffic(ctx context.Context, serverID int64) (*Traffic, error) {
	var out data[Traffic]
	if err := c.do(ctx, http.MethodGet, "/servers/"+id(serverID)+"/traffic", nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Data, nil
}

// Backups lists a server's backups.
func (c *Client) Backups(ctx context.Context, serverID int64) ([]Backup, error) {
	var out data[[]Backup]
	if err := c.do(ctx, http.MethodGet, "/backups/server/"+id(serverID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// SetBackupPlan assigns a backup plan to a server; 0 removes it.
func (c *Client) SetBackupPlan(ctx context.Context, serverID, planID int64) error {
	return c.do(ctx, http.MethodPut, "/servers/"+id(serverID)+"/backups/plan/"+id(planID), nil, nil, nil, http.StatusCreated)
}

// maxPages stops a walk over a list whose last_page keeps growing (or a
// misbehaving server) from looping forever.
const maxPages = 1000

func all[T any](ctx context.Context, fetch func(context.Context, int) (*Page[T], error)) ([]T, error) {
	var items []T
	for page := 1; page <= maxPages; page++ {
		p, err := fetch(ctx, page)
		if err != nil {
			return nil, err
		}
		items = append(items, p.Data...)
		if p.NextPageURL == nil || page >= p.LastPage || len(p.Data) == 0 {
			return items, nil
		}
	}
	return nil, fmt.Errorf("virtfusion: list has more than %d pages", maxPages)
}
