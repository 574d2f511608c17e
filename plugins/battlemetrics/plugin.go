package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"

	bm "github.com/ezscale/platform/plugins/battlemetrics/battlemetricsapi"
	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/errkind"
	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Version is the plugin's version, reported by Describe and in the
// User-Agent.
const Version = "0.1.0"

// maxCached bounds the address → server id cache.
const maxCached = 100_000

// Plugin is the BattleMetrics monitor. Configure may swap the settings
// while calls run, so calls take them under a read lock.
type Plugin struct {
	*pluginconf.Holder[*settings]

	idsMu sync.Mutex
	ids   map[string]string // "game|address:port" → BattleMetrics server id
}

// Interface guards: the compiler checks the plugin's kinds.
var (
	_ sdk.Plugin                = (*Plugin)(nil)
	_ sdk.ConfigValidator       = (*Plugin)(nil)
	_ sdk.Monitor               = (*Plugin)(nil)
	_ sdk.PlayerHistoryReporter = (*Plugin)(nil)
)

// New returns an unconfigured plugin. Configure applies a config without
// calling BattleMetrics.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "battlemetrics", Version: Version, Schema: schema()}, parseConfig)}
}

// GetServerStats reads the server by its BattleMetrics id, or finds it by
// address and port first.
func (p *Plugin) GetServerStats(ctx context.Context, req *pb.GetServerStatsRequest) (*pb.GetServerStatsResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	srv, err := p.lookup(ctx, s, req.GetProviderServerId(), req.GetAddress(), req.GetPort(), req.GetGame())
	if err != nil {
		return nil, err
	}
	a := srv.Attributes
	out := &pb.GetServerStatsResponse{
		ProviderServerId: srv.ID,
		Name:             a.Name,
		Status:           status(a.Status),
		Players:          int32(a.Players),
		MaxPlayers:       int32(a.MaxPlayers),
		Map:              a.Map(),
		ListingUrl:       s.listingURL + "/servers/" + srv.Game() + "/" + srv.ID,
	}
	if a.Rank != nil {
		out.Rank = int32(*a.Rank)
	}
	if !a.UpdatedAt.IsZero() {
		out.UpdatedAt = timestamppb.New(a.UpdatedAt)
	}
	return out, nil
}

// status maps BattleMetrics' online|offline|dead|removing|invalid onto the
// protocol's online|offline|dead.
func status(s string) string {
	switch s {
	case "online", "offline":
		return s
	}
	return "dead"
}

// GetPlayerHistory reads /servers/{id}/player-count-history.
func (p *Plugin) GetPlayerHistory(ctx context.Context, req *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	start, stop := req.GetStart().AsTime(), req.GetStop().AsTime()
	if req.GetStart() == nil || req.GetStop() == nil || !start.Before(stop) {
		return nil, sdk.Errorf(sdk.InvalidInput, "start and stop are required, start before stop")
	}
	id := req.GetProviderServerId()
	if id == "" {
		srv, err := p.lookup(ctx, s, "", req.GetAddress(), req.GetPort(), req.GetGame())
		if err != nil {
			return nil, err
		}
		id = srv.ID
	}
	var points []bm.DataPoint
	err = p.call(ctx, s, "reading the player-count history", func() error {
		var err error
		points, err = s.client.PlayerCountHistory(ctx, id, start, stop, resolution(req.GetResolutionMinutes()))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &pb.GetPlayerHistoryResponse{ProviderServerId: id}
	for _, dp := range points {
		a := dp.Attributes
		pt := &pb.PlayerCountPoint{Timestamp: timestamppb.New(a.Timestamp), Value: int32(a.Value), Min: int32(a.Value), Max: int32(a.Value)}
		if a.Min != nil {
			pt.Min = int32(*a.Min)
		}
		if a.Max != nil {
			pt.Max = int32(*a.Max)
		}
		out.Points = append(out.Points, pt)
	}
	return out, nil
}

// resolution picks the API's resolution for a bucket width: raw for 0,
// else the finest of 30, 60 and 1440 minutes not finer than asked.
func resolution(minutes int32) string {
	switch {
	case minutes <= 0:
		return bm.ResolutionRaw
	case minutes <= 30:
		return "30"
	case minutes <= 60:
		return "60"
	}
	return "1440"
}

// lookup returns the server by id, or by address and port: the cached id
// first, then a search.
func (p *Plugin) lookup(ctx context.Context, s *settings, id, address string, port int32, game string) (*bm.Server, error) {
	if game == "" {
		game = s.game
	}
	key := ""
	if id == "" {
		if address == "" || port <= 0 {
			return nil, sdk.Errorf(sdk.InvalidInput, "address and port, or provider_server_id, are required")
		}
		key = game + "|" + net.JoinHostPort(address, strconv.Itoa(int(port)))
		p.idsMu.Lock()
		id = p.ids[key]
		p.idsMu.Unlock()
	}
	if id != "" {
		var srv *bm.Server
		err := p.call(ctx, s, "reading the server", func() error {
			var err error
			srv, err = s.client.Server(ctx, id)
			return err
		})
		if err == nil || key == "" || sdk.KindOf(err) != sdk.NotFound {
			return srv, err
		}
		// The cached server is gone from BattleMetrics: search again.
		p.forget(key)
	}
	srv, err := p.search(ctx, s, address, int(port), game)
	if err != nil {
		return nil, err
	}
	p.idsMu.Lock()
	if p.ids == nil || len(p.ids) >= maxCached {
		p.ids = map[string]string{}
	}
	p.ids[key] = srv.ID
	p.idsMu.Unlock()
	return srv, nil
}

func (p *Plugin) forget(key string) {
	p.idsMu.Lock()
	delete(p.ids, key)
	p.idsMu.Unlock()
}

// search finds the server at address:port. The API's search is fuzzy, so
// each result is matched exactly: the IP (or the DNS address) and the game
// port or query port, following links.next for at most maxPages pages.
func (p *Plugin) search(ctx context.Context, s *settings, address string, port int, game string) (*bm.Server, error) {
	var page *bm.ServerPage
	err := p.call(ctx, s, "searching for the server", func() error {
		var err error
		page, err = s.client.ListServers(ctx, bm.ServerQuery{Search: address, Game: game, PageSize: bm.MaxPageSize})
		return err
	})
	for pages := 1; err == nil; pages++ {
		for i := range page.Data {
			a := page.Data[i].Attributes
			hostMatch := a.IP == address || (a.Address != nil && strings.EqualFold(*a.Address, address))
			if hostMatch && (a.Port == port || a.PortQuery == port) {
				return &page.Data[i], nil
			}
		}
		if page.Links.Next == "" || pages >= s.maxPages {
			return nil, sdk.Errorf(sdk.NotFound, "no BattleMetrics server at %s", net.JoinHostPort(address, strconv.Itoa(port)))
		}
		next := page.Links.Next
		err = p.call(ctx, s, "searching for the server", func() error {
			var err error
			page, err = s.client.Next(ctx, next)
			return err
		})
	}
	return nil, err
}

// call makes one API request within the budget and maps its error; a 429
// pauses every call for its Retry-After.
func (p *Plugin) call(ctx context.Context, s *settings, what string, do func() error) error {
	if wait := s.limit.take(); wait > 0 {
		return sdk.UnavailableError(wait, "%s: holding back to stay within BattleMetrics' rate limit", what)
	}
	err := do()
	if err == nil {
		return nil
	}
	if apierror.IsRateLimited(err) {
		ra, ok := apierror.RetryAfter(err)
		if !ok {
			ra = errkind.DefaultRetryAfter
		}
		s.limit.pause(ra)
	}
	if ctx.Err() != nil {
		return sdk.UnavailableError(0, "%s: %v", what, ctx.Err())
	}
	return errkind.FromAPI(err, what)
}
