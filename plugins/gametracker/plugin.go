package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ezscale/platform/plugins/gametracker/gtpage"
	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Version is the plugin's version, reported by Describe.
const Version = "0.1.0"

// Defaults: the public site and its banner cache.
const (
	DefaultPageURL   = "https://www.gametracker.com"
	DefaultBannerURL = "https://cache.gametracker.com"
	// GameTracker answers 403 without a browser-like User-Agent.
	DefaultUserAgent = "Mozilla/5.0 (compatible; ezscale-plugin-gametracker/" + Version + ")"
	maxPage          = 2 << 20
	maxRemembered    = 100_000
)

func schema() *sdk.Schema {
	return sdk.NewSchema().
		String("page_url", sdk.Default(DefaultPageURL), sdk.Doc("GameTracker site root; point it at a fake for tests")).
		String("banner_url", sdk.Default(DefaultBannerURL), sdk.Doc("root of the banner images")).
		String("banner", sdk.Default("b_560_95_1.png"), sdk.Doc("banner file name, e.g. b_560_95_1.png or b_350_20_692108_381007_FFFFFF_000000.png")).
		Bool("read_page", sdk.Default(true),
			sdk.Doc("read players, map, status and rank from the server page (fragile; false gives only the link and banner)")).
		String("user_agent", sdk.Default(DefaultUserAgent), sdk.Doc("User-Agent sent with page reads; GameTracker refuses requests without one")).
		Duration("timeout", sdk.Default("15s"), sdk.Doc("per page read"))
}

type settings struct {
	pageURL, bannerURL, banner, userAgent string
	readPage                              bool
	http                                  *http.Client
}

func parseConfig(cfg sdk.Config) (*settings, sdk.Diagnostics) {
	var diags sdk.Diagnostics
	for _, field := range []string{"page_url", "banner_url"} {
		u, err := url.Parse(cfg.String(field))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			diags = append(diags, sdk.FieldDiagnostic(field, "must be an absolute http(s) URL")...)
		}
	}
	if b := cfg.String("banner"); b == "" || strings.ContainsAny(b, "/?#") || !strings.HasSuffix(b, ".png") {
		diags = append(diags, sdk.FieldDiagnostic("banner", "must be a .png file name such as b_560_95_1.png")...)
	}
	if cfg.Duration("timeout") <= 0 {
		diags = append(diags, sdk.FieldDiagnostic("timeout", "must be positive")...)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &settings{
		pageURL:   strings.TrimRight(cfg.String("page_url"), "/"),
		bannerURL: strings.TrimRight(cfg.String("banner_url"), "/"),
		banner:    cfg.String("banner"),
		userAgent: cfg.String("user_agent"),
		readPage:  cfg.Bool("read_page"),
		http:      &http.Client{Timeout: cfg.Duration("timeout")},
	}, nil
}

// Plugin is the GameTracker monitor.
type Plugin struct {
	*pluginconf.Holder[*settings]

	lastMu sync.Mutex
	last   map[string]*pb.GetServerStatsResponse // host:port → last good read
}

// Interface guards.
var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.Monitor         = (*Plugin)(nil)
)

// New returns an unconfigured plugin. Configure applies a config without
// calling GameTracker.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "gametracker", Version: Version, Schema: schema()}, parseConfig)}
}

// GetServerStats gives the page and banner of address:port and, when
// read_page is on, the numbers on the page. A server GameTracker does not
// list (404) is NotFound; any other failure to fetch or read the page
// gives the last known numbers with stale set.
func (p *Plugin) GetServerStats(ctx context.Context, req *pb.GetServerStatsRequest) (*pb.GetServerStatsResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	host, port := req.GetAddress(), int(req.GetPort())
	if host == "" && req.GetProviderServerId() != "" {
		h, ps, err := net.SplitHostPort(req.GetProviderServerId())
		if err == nil {
			host = h
			port, _ = strconv.Atoi(ps)
		}
	}
	if host == "" || port <= 0 || port > 65535 || strings.ContainsAny(host, "/?#@ ") {
		return nil, sdk.Errorf(sdk.InvalidInput, "address and port (or provider_server_id host:port) are required")
	}
	id := net.JoinHostPort(host, strconv.Itoa(port))
	base := &pb.GetServerStatsResponse{
		ProviderServerId: id,
		ListingUrl:       s.pageURL + "/server_info/" + id + "/",
		BannerUrl:        s.bannerURL + "/server_info/" + id + "/" + s.banner,
	}
	if !s.readPage {
		base.Stale = true
		base.Status = "unknown"
		return base, nil
	}
	page, err := p.fetch(ctx, s, base.ListingUrl)
	switch {
	case err == errNotListed:
		return nil, sdk.Errorf(sdk.NotFound, "GameTracker does not list %s", id)
	case err != nil:
		return p.stale(id, base), nil
	}
	out := proto.Clone(base).(*pb.GetServerStatsResponse)
	out.Name, out.Players, out.MaxPlayers, out.Map, out.Rank = page.Name, int32(page.Players), int32(page.MaxPlayers), page.Map, int32(page.Rank)
	out.Status = "offline"
	if page.Online {
		out.Status = "online"
	}
	out.UpdatedAt = timestamppb.Now()
	p.lastMu.Lock()
	if p.last == nil || len(p.last) >= maxRemembered {
		p.last = map[string]*pb.GetServerStatsResponse{}
	}
	p.last[id] = out
	p.lastMu.Unlock()
	return out, nil
}

// stale is the last good read of id (or just the links) flagged stale.
func (p *Plugin) stale(id string, base *pb.GetServerStatsResponse) *pb.GetServerStatsResponse {
	p.lastMu.Lock()
	last := p.last[id]
	p.lastMu.Unlock()
	out := proto.Clone(base).(*pb.GetServerStatsResponse)
	if last != nil {
		out = proto.Clone(last).(*pb.GetServerStatsResponse)
	} else {
		out.Status = "unknown"
	}
	out.Stale = true
	return out
}

var errNotListed = fmt.Errorf("gametracker: server not listed")

func (p *Plugin) fetch(ctx context.Context, s *settings, pageURL string) (*gtpage.Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set("Accept", "text/html")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errNotListed
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("gametracker: HTTP %d", resp.StatusCode)
	}
	return gtpage.Parse(io.LimitReader(resp.Body, maxPage))
}
