package pterodactylapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/rest"
)

// Error is an error answer from the panel.
type Error = apierror.Error

// Classification helpers, re-exported so callers need only this package.
var (
	AsError         = apierror.As
	StatusCodeOf    = apierror.StatusCode
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
)

// Config configures a Client.
type Config struct {
	// BaseURL is the panel root, e.g. https://panel.example.com.
	BaseURL string
	// ApplicationKey (ptla_…) authorises /api/application; its owner must be
	// a root admin.
	ApplicationKey string
	// ClientKey (ptlc_…) authorises /api/client. It should belong to a root
	// admin so it can act on every server. Optional: without it the client
	// calls fail.
	ClientKey string
	// Timeout bounds each request; 0 means 30s.
	Timeout    time.Duration
	HTTPClient *http.Client
}

// Client calls both APIs. It is safe for concurrent use.
type Client struct {
	app, client *rest.Client
	hasClient   bool
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.ApplicationKey == "" {
		return nil, errors.New("pterodactylapi: application key is required")
	}
	mk := func(prefix, key string) (*rest.Client, error) {
		rc, err := rest.New(strings.TrimRight(cfg.BaseURL, "/")+prefix, cfg.HTTPClient, cfg.Timeout)
		if err != nil {
			return nil, fmt.Errorf("pterodactylapi: %w", err)
		}
		rc.UserAgent = "ezscale-plugin-pterodactyl"
		rc.PrepareFunc = func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+key)
			r.Header.Set("Accept", "Application/vnd.pterodactyl.v1+json")
		}
		rc.DecodeErrorFunc = decodeError
		return rc, nil
	}
	app, err := mk("/api/application", cfg.ApplicationKey)
	if err != nil {
		return nil, err
	}
	cl, err := mk("/api/client", cfg.ClientKey)
	if err != nil {
		return nil, err
	}
	return &Client{app: app, client: cl, hasClient: cfg.ClientKey != ""}, nil
}

func decodeError(e *Error, body []byte) {
	var b ErrorBody
	if json.Unmarshal(body, &b) != nil || len(b.Errors) == 0 {
		return
	}
	e.Code, e.Message = b.Errors[0].Code, b.Errors[0].Detail
	for _, it := range b.Errors {
		e.Messages = append(e.Messages, it.Detail)
	}
	e.Capacity = isCapacity(e)
}

// HasClientKey reports whether a Client API key was configured.
func (c *Client) HasClientKey() bool { return c.hasClient }

func (c *Client) do(ctx context.Context, rc *rest.Client, method, path string, q url.Values, in, out any, expect ...int) error {
	if rc == c.client && !c.hasClient {
		return errors.New("pterodactyl: no client API key configured")
	}
	if _, err := rc.Do(ctx, rest.Request{Method: method, Path: path, Query: q, Body: in, Expect: expect}, out); err != nil {
		return fmt.Errorf("pterodactyl: %w", err)
	}
	return nil
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// ListOptions selects a page (per_page default 50) and filters.
type ListOptions struct {
	Page    int
	PerPage int
	// Filters maps a filter name (email, uuid, username, external_id, name,
	// image, server_id, …) to its value; sent as filter[name]=value.
	Filters map[string]string
	// Include names relationships to embed, e.g. "allocations".
	Include []string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Page > 0 {
		q.Set("page", strconv.Itoa(o.Page))
	}
	if o.PerPage > 0 {
		q.Set("per_page", strconv.Itoa(o.PerPage))
	}
	for k, v := range o.Filters {
		q.Set("filter["+k+"]", v)
	}
	if len(o.Include) > 0 {
		q.Set("include", strings.Join(o.Include, ","))
	}
	return q
}

// maxPages stops a walk over a list that never ends.
const maxPages = 1000

// all walks every page of a list.
func all[T any](ctx context.Context, opts ListOptions, fetch func(context.Context, ListOptions) (*List[T], error)) ([]T, error) {
	var out []T
	if opts.PerPage == 0 {
		opts.PerPage = 100
	}
	for page := 1; page <= maxPages; page++ {
		opts.Page = page
		l, err := fetch(ctx, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, l.Items()...)
		if page >= l.Meta.Pagination.TotalPages || len(l.Data) == 0 {
			return out, nil
		}
	}
	return nil, fmt.Errorf("pterodactyl: list has more than %d pages", maxPages)
}

// ---- Application API: users ----

// Users returns one page of users.
func (c *Client) Users(ctx context.Context, opts ListOptions) (*List[User], error) {
	var out List[User]
	if err := c.do(ctx, c.app, http.MethodGet, "/users", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllUsers walks every page of users matching opts' filters.
func (c *Client) AllUsers(ctx context.Context, opts ListOptions) ([]User, error) {
	return all(ctx, opts, c.Users)
}

// User returns a user by panel id.
func (c *Client) User(ctx context.Context, userID int64) (*User, error) {
	var out Item[User]
	if err := c.do(ctx, c.app, http.MethodGet, "/users/"+id(userID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// UserByExternalID returns the user with externalID (404 when none).
func (c *Client) UserByExternalID(ctx context.Context, externalID string) (*User, error) {
	var out Item[User]
	if err := c.do(ctx, c.app, http.MethodGet, "/users/external/"+url.PathEscape(externalID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, req UserRequest) (*User, error) {
	var out Item[User]
	if err := c.do(ctx, c.app, http.MethodPost, "/users", nil, req, &out, http.StatusCreated); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// UpdateUser replaces a user's details (and password when set).
func (c *Client) UpdateUser(ctx context.Context, userID int64, req UserRequest) (*User, error) {
	var out Item[User]
	if err := c.do(ctx, c.app, http.MethodPatch, "/users/"+id(userID), nil, req, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// DeleteUser deletes a user without servers.
func (c *Client) DeleteUser(ctx context.Context, userID int64) error {
	return c.do(ctx, c.app, http.MethodDelete, "/users/"+id(userID), nil, nil, nil, http.StatusNoContent)
}

// ---- Application API: servers ----

// Servers returns one page of servers.
func (c *Client) Servers(ctx context.Context, opts ListOptions) (*List[Server], error) {
	var out List[Server]
	if err := c.do(ctx, c.app, http.MethodGet, "/servers", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllServers walks every page of servers matching opts' filters.
func (c *Client) AllServers(ctx context.Context, opts ListOptions) ([]Server, error) {
	return all(ctx, opts, c.Servers)
}

// Server returns a server by panel id, with optional includes.
func (c *Client) Server(ctx context.Context, serverID int64, include ...string) (*Server, error) {
	var out Item[Server]
	q := ListOptions{Include: include}.query()
	if err := c.do(ctx, c.app, http.MethodGet, "/servers/"+id(serverID), q, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// ServerByExternalID returns the server with externalID (404 when none).
func (c *Client) ServerByExternalID(ctx context.Context, externalID string) (*Server, error) {
	var out Item[Server]
	if err := c.do(ctx, c.app, http.MethodGet, "/servers/external/"+url.PathEscape(externalID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// CreateServer creates a server; it starts installing.
func (c *Client) CreateServer(ctx context.Context, req CreateServerRequest) (*Server, error) {
	var out Item[Server]
	if err := c.do(ctx, c.app, http.MethodPost, "/servers", nil, req, &out, http.StatusCreated); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// UpdateBuild changes a server's limits and allocations.
func (c *Client) UpdateBuild(ctx context.Context, serverID int64, req BuildRequest) (*Server, error) {
	var out Item[Server]
	if err := c.do(ctx, c.app, http.MethodPatch, "/servers/"+id(serverID)+"/build", nil, req, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// UpdateDetails changes a server's name, owner, external id and description.
func (c *Client) UpdateDetails(ctx context.Context, serverID int64, req DetailsRequest) (*Server, error) {
	var out Item[Server]
	if err := c.do(ctx, c.app, http.MethodPatch, "/servers/"+id(serverID)+"/details", nil, req, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// SuspendServer suspends a server.
func (c *Client) SuspendServer(ctx context.Context, serverID int64) error {
	return c.do(ctx, c.app, http.MethodPost, "/servers/"+id(serverID)+"/suspend", nil, nil, nil, http.StatusNoContent)
}

// UnsuspendServer unsuspends a server.
func (c *Client) UnsuspendServer(ctx context.Context, serverID int64) error {
	return c.do(ctx, c.app, http.MethodPost, "/servers/"+id(serverID)+"/unsuspend", nil, nil, nil, http.StatusNoContent)
}

// ReinstallServer reruns the egg's install script.
func (c *Client) ReinstallServer(ctx context.Context, serverID int64) error {
	return c.do(ctx, c.app, http.MethodPost, "/servers/"+id(serverID)+"/reinstall", nil, nil, nil, http.StatusNoContent)
}

// DeleteServer deletes a server; force deletes it even when Wings cannot be
// reached.
func (c *Client) DeleteServer(ctx context.Context, serverID int64, force bool) error {
	path := "/servers/" + id(serverID)
	if force {
		path += "/force"
	}
	return c.do(ctx, c.app, http.MethodDelete, path, nil, nil, nil, http.StatusNoContent)
}

// ---- Application API: nodes, allocations, nests, eggs ----

// Nodes returns one page of nodes.
func (c *Client) Nodes(ctx context.Context, opts ListOptions) (*List[Node], error) {
	var out List[Node]
	if err := c.do(ctx, c.app, http.MethodGet, "/nodes", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllNodes walks every page of nodes.
func (c *Client) AllNodes(ctx context.Context) ([]Node, error) {
	return all(ctx, ListOptions{}, c.Nodes)
}

// Node returns one node.
func (c *Client) Node(ctx context.Context, nodeID int64) (*Node, error) {
	var out Item[Node]
	if err := c.do(ctx, c.app, http.MethodGet, "/nodes/"+id(nodeID), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// DeployableNodes lists nodes with room for memory and disk (MB), optionally
// in the given locations.
func (c *Client) DeployableNodes(ctx context.Context, memory, disk int64, locationIDs ...int64) ([]Node, error) {
	q := url.Values{"memory": {id(memory)}, "disk": {id(disk)}}
	for _, l := range locationIDs {
		q.Add("location_ids[]", id(l))
	}
	var out List[Node]
	if err := c.do(ctx, c.app, http.MethodGet, "/nodes/deployable", q, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return out.Items(), nil
}

// Allocations returns one page of a node's allocations.
func (c *Client) Allocations(ctx context.Context, nodeID int64, opts ListOptions) (*List[Allocation], error) {
	var out List[Allocation]
	if err := c.do(ctx, c.app, http.MethodGet, "/nodes/"+id(nodeID)+"/allocations", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// FreeAllocations returns every unassigned allocation of a node. An empty
// filter[server_id] is how the panel selects unassigned allocations.
func (c *Client) FreeAllocations(ctx context.Context, nodeID int64) ([]Allocation, error) {
	opts := ListOptions{Filters: map[string]string{"server_id": ""}}
	return all(ctx, opts, func(ctx context.Context, o ListOptions) (*List[Allocation], error) {
		return c.Allocations(ctx, nodeID, o)
	})
}

// Nests returns one page of nests.
func (c *Client) Nests(ctx context.Context, opts ListOptions) (*List[Nest], error) {
	var out List[Nest]
	if err := c.do(ctx, c.app, http.MethodGet, "/nests", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// Eggs lists a nest's eggs.
func (c *Client) Eggs(ctx context.Context, nestID int64) ([]Egg, error) {
	var out List[Egg]
	if err := c.do(ctx, c.app, http.MethodGet, "/nests/"+id(nestID)+"/eggs", nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return out.Items(), nil
}

// Egg returns an egg with its variables.
func (c *Client) Egg(ctx context.Context, nestID, eggID int64) (*Egg, error) {
	var out Item[Egg]
	q := url.Values{"include": {"variables"}}
	if err := c.do(ctx, c.app, http.MethodGet, "/nests/"+id(nestID)+"/eggs/"+id(eggID), q, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// ---- Client API ----

// ClientServer returns the Client API's view of a server; identifier is the
// 8-character identifier or the full uuid.
func (c *Client) ClientServer(ctx context.Context, identifier string) (*ClientServer, error) {
	var out Item[ClientServer]
	if err := c.do(ctx, c.client, http.MethodGet, "/servers/"+url.PathEscape(identifier), nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// Power sends a power signal. A suspended or installing server answers 409.
func (c *Client) Power(ctx context.Context, identifier string, signal Signal) error {
	body := map[string]Signal{"signal": signal}
	return c.do(ctx, c.client, http.MethodPost, "/servers/"+url.PathEscape(identifier)+"/power", nil, body, nil, http.StatusNoContent)
}

// Resources returns a server's live usage.
func (c *Client) Resources(ctx context.Context, identifier string) (*Stats, error) {
	var out Item[Stats]
	if err := c.do(ctx, c.client, http.MethodGet, "/servers/"+url.PathEscape(identifier)+"/resources", nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// SendCommand types a command into the server's console. The server must be
// running (the panel answers 502 otherwise).
func (c *Client) SendCommand(ctx context.Context, identifier, command string) error {
	body := map[string]string{"command": command}
	return c.do(ctx, c.client, http.MethodPost, "/servers/"+url.PathEscape(identifier)+"/command", nil, body, nil, http.StatusNoContent)
}

// Backups returns one page of a server's backups (the panel's default page
// is 20, at most 50).
func (c *Client) Backups(ctx context.Context, identifier string, opts ListOptions) (*List[Backup], error) {
	var out List[Backup]
	if err := c.do(ctx, c.client, http.MethodGet, "/servers/"+url.PathEscape(identifier)+"/backups", opts.query(), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllBackups walks every page of a server's backups.
func (c *Client) AllBackups(ctx context.Context, identifier string) ([]Backup, error) {
	return all(ctx, ListOptions{PerPage: 50}, func(ctx context.Context, o ListOptions) (*List[Backup], error) {
		return c.Backups(ctx, identifier, o)
	})
}

// CreateBackup starts a backup. The panel refuses it (400,
// TooManyBackupsException) when the server already has as many backups as
// its feature_limits.backups allows.
func (c *Client) CreateBackup(ctx context.Context, identifier string, req BackupRequest) (*Backup, error) {
	var out Item[Backup]
	if err := c.do(ctx, c.client, http.MethodPost, "/servers/"+url.PathEscape(identifier)+"/backups", nil, req, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// Backup returns one backup by uuid.
func (c *Client) Backup(ctx context.Context, identifier, backupUUID string) (*Backup, error) {
	var out Item[Backup]
	path := "/servers/" + url.PathEscape(identifier) + "/backups/" + url.PathEscape(backupUUID)
	if err := c.do(ctx, c.client, http.MethodGet, path, nil, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out.Attributes, nil
}

// DeleteBackup deletes a backup. A locked, completed backup is refused
// (400).
func (c *Client) DeleteBackup(ctx context.Context, identifier, backupUUID string) error {
	path := "/servers/" + url.PathEscape(identifier) + "/backups/" + url.PathEscape(backupUUID)
	return c.do(ctx, c.client, http.MethodDelete, path, nil, nil, nil, http.StatusNoContent)
}
