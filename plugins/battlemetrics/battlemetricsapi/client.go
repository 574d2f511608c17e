package battlemetricsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/rest"
)

// DefaultBaseURL is the public API root.
const DefaultBaseURL = "https://api.battlemetrics.com"

// MaxPageSize is the largest page[size] the API accepts.
const MaxPageSize = 100

// Resolutions the player-count history accepts (minutes); "raw" is every
// sample.
const (
	ResolutionRaw = "raw"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the API root; empty means DefaultBaseURL.
	BaseURL string
	// Token is an optional personal access token, sent as a Bearer token.
	Token string
	// HTTPClient sends the requests; nil means one with Timeout.
	HTTPClient *http.Client
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
	// UserAgent is sent on every request.
	UserAgent string
}

// Client calls the BattleMetrics API. It is safe for concurrent use.
type Client struct {
	rest *rest.Client
}

// New returns a Client.
func New(cfg Config) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	rc, err := rest.New(base, cfg.HTTPClient, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("battlemetrics: %w", err)
	}
	if cfg.UserAgent != "" {
		rc.UserAgent = cfg.UserAgent
	}
	token := cfg.Token
	rc.PrepareFunc = func(r *http.Request) {
		r.Header.Set("Accept", "application/vnd.api+json, application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	}
	rc.DecodeErrorFunc = decodeError
	return &Client{rest: rc}, nil
}

// decodeError reads a JSON:API error body: the message is errors[0].detail
// (its title when there is no detail).
func decodeError(e *apierror.Error, body []byte) {
	var doc ErrorDocument
	if json.Unmarshal(body, &doc) != nil || len(doc.Errors) == 0 {
		return
	}
	for _, o := range doc.Errors {
		msg := o.Detail
		if msg == "" {
			msg = o.Title
		}
		e.Messages = append(e.Messages, msg)
	}
	e.Code = doc.Errors[0].Code
	e.Message = e.Messages[0]
}

// ServerQuery filters GET /servers.
type ServerQuery struct {
	Search string // filter[search], fuzzy
	Game   string // filter[game]
	Status string // filter[status]
	// PageSize is page[size], at most MaxPageSize; 0 leaves the API's default.
	PageSize int
}

func (q ServerQuery) values() url.Values {
	v := url.Values{}
	if q.Search != "" {
		v.Set("filter[search]", q.Search)
	}
	if q.Game != "" {
		v.Set("filter[game]", q.Game)
	}
	if q.Status != "" {
		v.Set("filter[status]", q.Status)
	}
	if q.PageSize > 0 {
		v.Set("page[size]", strconv.Itoa(min(q.PageSize, MaxPageSize)))
	}
	return v
}

// ListServers returns the first page of servers matching q. Follow
// page.Links.Next with Next.
func (c *Client) ListServers(ctx context.Context, q ServerQuery) (*ServerPage, error) {
	var page ServerPage
	if _, err := c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: "/servers", Query: q.values()}, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Next fetches the page a links.next (or links.prev) URL points at. The URL
// must be under the client's base URL: a cursor link is never followed to
// another host, where the token would leak.
func (c *Client) Next(ctx context.Context, link string) (*ServerPage, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("battlemetrics: bad cursor link: %w", err)
	}
	base := c.rest.BaseURL
	if u.Scheme != base.Scheme || u.Host != base.Host || !strings.HasPrefix(u.Path, base.Path) {
		return nil, fmt.Errorf("battlemetrics: cursor link %s is not under %s", u.Redacted(), base.Redacted())
	}
	var page ServerPage
	req := rest.Request{Method: http.MethodGet, Path: strings.TrimPrefix(u.Path, base.Path), Query: u.Query()}
	if _, err := c.rest.Do(ctx, req, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// Server returns one server; an unknown id is a 404 *apierror.Error.
func (c *Client) Server(ctx context.Context, id string) (*Server, error) {
	var doc serverDocument
	if _, err := c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: "/servers/" + url.PathEscape(id)}, &doc); err != nil {
		return nil, err
	}
	return &doc.Data, nil
}

// PlayerCountHistory returns the server's player counts between start and
// stop at resolution ("raw", "30", "60" or "1440" minutes).
func (c *Client) PlayerCountHistory(ctx context.Context, id string, start, stop time.Time, resolution string) ([]DataPoint, error) {
	q := url.Values{}
	q.Set("start", start.UTC().Format(time.RFC3339))
	q.Set("stop", stop.UTC().Format(time.RFC3339))
	if resolution != "" {
		q.Set("resolution", resolution)
	}
	var doc historyDocument
	path := "/servers/" + url.PathEscape(id) + "/player-count-history"
	if _, err := c.rest.Do(ctx, rest.Request{Method: http.MethodGet, Path: path, Query: q}, &doc); err != nil {
		return nil, err
	}
	return doc.Data, nil
}
