package monitoring

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
)

// Options configure monitoring. Zero values take the defaults in brackets.
type Options struct {
	// Plugins are the monitor plugins, in the order their numbers are
	// preferred; empty turns monitoring off. [none]
	Plugins []string
	// Interval spaces one monitor's samples; negative registers no
	// periodic jobs (tests call Sample and Attach). [1m]
	Interval time.Duration
	// Jitter spreads the samples: each monitor's next sample moves by up
	// to half of it either way. [10s]
	Jitter time.Duration
	// Concurrency bounds the plugin calls in flight. [16]
	Concurrency int
	// Batch monitors are sampled and written per transaction. [500]
	Batch int
	// CallTimeout bounds one plugin call. [10s]
	CallTimeout time.Duration
	// Retention is how long samples are kept; the 30-day chart needs 30
	// days. [35 days]
	Retention time.Duration
	// DownAfter consecutive samples showing the server down while its
	// backend runs it raise the health alert. [3]
	DownAfter int
	// AttachInterval spaces the sweeps that attach monitors to new game
	// services. [5m]
	AttachInterval time.Duration
	// Now is the clock (tests); nil = the wall clock.
	Now func() time.Time
}

// DefaultOptions are monitoring's settings when nothing is configured.
func DefaultOptions() Options {
	return Options{Interval: time.Minute, Jitter: 10 * time.Second, Concurrency: 16, Batch: 500, CallTimeout: 10 * time.Second,
		Retention: 35 * 24 * time.Hour, DownAfter: 3, AttachInterval: 5 * time.Minute}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Interval == 0 {
		o.Interval = d.Interval
	}
	if o.Jitter <= 0 {
		o.Jitter = d.Jitter
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.Batch <= 0 {
		o.Batch = d.Batch
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = d.CallTimeout
	}
	if o.Retention <= 0 {
		o.Retention = d.Retention
	}
	if o.DownAfter <= 0 {
		o.DownAfter = d.DownAfter
	}
	if o.AttachInterval <= 0 {
		o.AttachInterval = d.AttachInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// GameService is a game service as monitoring needs it.
type GameService struct {
	ID        string
	AccountID string
	Label     string
	// Live: the service exists (active or suspended); monitors of a
	// service that is not are removed.
	Live bool
	// Running: active here and at the backend.
	Running bool
	// Attributes are the provisioner's (Pterodactyl: "address" ip:port).
	Attributes map[string]string
}

// Services says which services are game services (billing, through
// core/app).
type Services interface {
	// ActiveGameServices pages through active game services by id.
	ActiveGameServices(ctx context.Context, after string, limit int) ([]GameService, error)
	// GameServices returns the game services among ids, by id.
	GameServices(ctx context.Context, ids []string) (map[string]GameService, error)
	// AccountGameService returns one of the account's game services.
	// Errors: NotFound (another account's, unknown, or not a game
	// service).
	AccountGameService(ctx context.Context, accountID, serviceID string) (*GameService, error)
}

// Plugins reaches the monitor plugins (*pluginhost.Host).
type Plugins interface {
	Monitor(name string) (sdk.MonitorClient, error)
}

// HealthFunc reports a service's health going down (down, with a reason)
// or up again, inside the transaction that records the monitor's change.
// core/app points it at auto-recovery's health path.
type HealthFunc func(ctx context.Context, tx bun.Tx, accountID, serviceID string, down bool, reason string) error

// Deps are what monitoring needs from the rest of the platform.
type Deps struct {
	DB       *database.DB
	Jobs     *jobs.Registry
	Services Services
	// Plugins reaches the monitor plugins; nil makes every sample fail.
	Plugins Plugins
	// Health is told of outages the listings show; nil: no one is.
	Health HealthFunc
	Logger hclog.Logger
}

// Service is game-server monitoring.
type Service struct {
	db       *database.DB
	services Services
	plugins  Plugins
	health   HealthFunc
	log      hclog.Logger
	opts     Options
}

// New builds the service and registers its jobs.
func New(deps Deps, opts Options) *Service {
	opts = opts.withDefaults()
	if deps.Logger == nil {
		deps.Logger = hclog.NewNullLogger()
	}
	s := &Service{db: deps.DB, services: deps.Services, plugins: deps.Plugins, health: deps.Health, log: deps.Logger, opts: opts}
	if deps.Jobs != nil {
		s.registerJobs(deps.Jobs)
	}
	return s
}

// Options returns the effective options.
func (s *Service) Options() Options { return s.opts }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Monitor is one game service seen through one monitor plugin, with its
// latest reading.
type Monitor struct {
	bun.BaseModel `bun:"table:game_monitors"`

	ServiceID    string     `bun:"service_id,pk" json:"service_id"`
	Plugin       string     `bun:"plugin,pk" json:"plugin"`
	AccountID    string     `bun:"account_id" json:"account_id"`
	Address      string     `bun:"address" json:"address"`
	Port         int        `bun:"port" json:"port"`
	Game         string     `bun:"game" json:"game"`
	ListingID    string     `bun:"listing_id" json:"listing_id"`
	Manual       bool       `bun:"manual" json:"manual"`
	Enabled      bool       `bun:"enabled" json:"enabled"`
	Status       string     `bun:"status" json:"status"`
	Name         string     `bun:"name" json:"name"`
	Map          string     `bun:"map" json:"map"`
	Players      int        `bun:"players" json:"players"`
	MaxPlayers   int        `bun:"max_players" json:"max_players"`
	Rank         int        `bun:"rank" json:"rank"`
	ListingURL   string     `bun:"listing_url" json:"listing_url"`
	BannerURL    string     `bun:"banner_url" json:"banner_url"`
	Stale        bool       `bun:"stale" json:"stale"`
	DownStreak   int        `bun:"down_streak" json:"-"`
	ReportedDown bool       `bun:"reported_down" json:"reported_down"`
	LastSampleAt *time.Time `bun:"last_sample_at" json:"last_sample_at"`
	LastError    string     `bun:"last_error" json:"last_error"`
	NextSampleAt time.Time  `bun:"next_sample_at" json:"next_sample_at"`
	CreatedAt    time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt    time.Time  `bun:"updated_at" json:"updated_at"`
}

// Monitor statuses beyond the listings' own (online, offline, dead).
const (
	StatusUnknown   = "unknown"
	StatusNotListed = "not_listed"
)

// Sample is one reading kept for the charts and uptime.
type Sample struct {
	bun.BaseModel `bun:"table:game_monitor_samples"`

	ServiceID  string    `bun:"service_id,pk"`
	Plugin     string    `bun:"plugin,pk"`
	SampledAt  time.Time `bun:"sampled_at,pk"`
	Online     bool      `bun:"online"`
	Players    int       `bun:"players"`
	MaxPlayers int       `bun:"max_players"`
	Rank       int       `bun:"rank"`
}

// AddressOf reads a provisioner's attributes: "address" as host:port, or
// "ip" (or "host") and "port".
func AddressOf(attrs map[string]string) (string, int, bool) {
	if a := attrs["address"]; a != "" {
		h, p, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(p); err == nil && perr == nil && validHost(h) && n > 0 && n <= 65535 {
			return h, n, true
		}
	}
	h := attrs["ip"]
	if h == "" {
		h = attrs["host"]
	}
	if n, err := strconv.Atoi(attrs["port"]); err == nil && validHost(h) && n > 0 && n <= 65535 {
		return h, n, true
	}
	return "", 0, false
}

var (
	hostName  = regexp.MustCompile(`^(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$`)
	listingID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)
	gameID    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)
)

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	return hostName.MatchString(h)
}

// enabled reports whether name is one of the monitor plugins.
func (s *Service) enabled(name string) bool { return slices.Contains(s.opts.Plugins, name) }

// priority orders monitors by the preference of their plugin.
func (s *Service) priority(ms []Monitor) {
	slices.SortStableFunc(ms, func(a, b Monitor) int {
		return slices.Index(s.opts.Plugins, a.Plugin) - slices.Index(s.opts.Plugins, b.Plugin)
	})
}

// Settings are a service's monitor settings, as set by staff or the
// customer.
type Settings struct {
	Enabled bool   `json:"enabled"`
	Address string `json:"address"`
	Port    int    `json:"port"`
	// Game narrows the listing search (BattleMetrics' game id, e.g.
	// "rust"); empty: the plugin's default.
	Game string `json:"game"`
	// ListingIDs are the server's ids at the listings, by plugin; empty:
	// found by address and port.
	ListingIDs map[string]string `json:"listing_ids"`
	// Manual: set by a person rather than attached automatically.
	Manual bool `json:"manual"`
	// Plugins are the monitor plugins watching the service.
	Plugins []string `json:"plugins"`
}

// SettingsInput sets a service's monitor settings.
type SettingsInput struct {
	// Enabled defaults to true.
	Enabled    *bool             `json:"enabled"`
	Address    string            `json:"address"`
	Port       int               `json:"port"`
	Game       string            `json:"game"`
	ListingIDs map[string]string `json:"listing_ids"`
}

func (s *Service) validate(in *SettingsInput) error {
	var errs apperr.Fields
	in.Address = strings.TrimSpace(in.Address)
	if !validHost(in.Address) {
		errs.Add("address", "must be an IP address or a host name, without scheme or port")
	}
	if in.Port < 1 || in.Port > 65535 {
		errs.Add("port", "must be from 1 to 65535")
	}
	if in.Game != "" && !gameID.MatchString(in.Game) {
		errs.Add("game", "must be a listing's game id such as rust or minecraft")
	}
	for name, id := range in.ListingIDs {
		switch {
		case !s.enabled(name):
			errs.Add("listing_ids", "%q is not an enabled monitor plugin (enabled: %s)", name, strings.Join(s.opts.Plugins, ", "))
		case id != "" && !listingID.MatchString(id):
			errs.Add("listing_ids", "the %s id must be 1-100 letters, digits, '.', '_', ':' or '-'", name)
		}
	}
	return errs.Err()
}

// SetSettings sets the monitors of one of the account's game services:
// one per enabled monitor plugin, marked manual so the automatic
// attachment leaves them alone. A changed address or listing id forgets
// the previous reading. Errors: NotFound (another account's service, or
// not a game service), Invalid naming the field, Unprocessable (reason
// monitoring_off) when no monitor plugin is enabled.
func (s *Service) SetSettings(ctx context.Context, accountID, serviceID string, in SettingsInput) (*Settings, error) {
	if len(s.opts.Plugins) == 0 {
		return nil, &apperr.Error{Code: apperr.Unprocessable, Reason: "monitoring_off", Message: "no monitor plugin is enabled"}
	}
	if err := s.validate(&in); err != nil {
		return nil, err
	}
	if _, err := s.services.AccountGameService(ctx, accountID, serviceID); err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	now := s.now()
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, plugin := range s.opts.Plugins {
			m := &Monitor{ServiceID: serviceID, Plugin: plugin, AccountID: accountID, Address: in.Address, Port: in.Port, Game: in.Game,
				ListingID: in.ListingIDs[plugin], Manual: true, Enabled: enabled, Status: StatusUnknown, NextSampleAt: now,
				CreatedAt: now, UpdatedAt: now}
			old := &Monitor{}
			err := tx.NewSelect().Model(old).Where("service_id = ?", serviceID).Where("plugin = ?", plugin).Scan(ctx)
			switch {
			case database.IsNoRows(err):
				if _, err := tx.NewInsert().Model(m).Exec(ctx); err != nil {
					return fmt.Errorf("monitoring: adding the %s monitor of %s: %w", plugin, serviceID, err)
				}
				continue
			case err != nil:
				return fmt.Errorf("monitoring: loading the %s monitor of %s: %w", plugin, serviceID, err)
			}
			q := tx.NewUpdate().Model((*Monitor)(nil)).Where("service_id = ?", serviceID).Where("plugin = ?", plugin).
				Set("address = ?, port = ?, game = ?, listing_id = ?, manual = true, enabled = ?, updated_at = ?",
					m.Address, m.Port, m.Game, m.ListingID, enabled, now).Set("next_sample_at = ?", now)
			if old.Address != m.Address || old.Port != m.Port || old.ListingID != m.ListingID || old.Game != m.Game {
				q = q.Set("status = ?, name = '', map = '', players = 0, max_players = 0, rank = 0, listing_url = '', banner_url = '', "+
					"stale = false, down_streak = 0, last_error = ''", StatusUnknown)
			}
			if _, err := q.Exec(ctx); err != nil {
				return fmt.Errorf("monitoring: updating the %s monitor of %s: %w", plugin, serviceID, err)
			}
		}
		if !enabled {
			// A monitor that no longer samples no longer says the server is down.
			if err := s.clearDown(ctx, tx, accountID, serviceID); err != nil {
				return err
			}
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "monitoring.settings.set", AccountID: accountID, TargetType: "service",
			TargetID: serviceID, Changes: map[string]any{"enabled": enabled, "address": in.Address, "port": in.Port, "game": in.Game,
				"listing_ids": in.ListingIDs}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Settings(ctx, accountID, serviceID)
}

// clearDown reports up a service whose monitors said it was down, and
// forgets that they did.
func (s *Service) clearDown(ctx context.Context, tx bun.Tx, accountID, serviceID string) error {
	res, err := tx.NewUpdate().Model((*Monitor)(nil)).Set("reported_down = false, down_streak = 0").
		Where("service_id = ?", serviceID).Where("reported_down").Exec(ctx)
	if err != nil {
		return fmt.Errorf("monitoring: clearing the outage of %s: %w", serviceID, err)
	}
	if n, _ := res.RowsAffected(); n > 0 && s.health != nil {
		return s.health(ctx, tx, accountID, serviceID, false, "")
	}
	return nil
}

// Settings returns the monitor settings of one of the account's game
// services (Enabled false and no address while it has no monitor).
// Errors: NotFound.
func (s *Service) Settings(ctx context.Context, accountID, serviceID string) (*Settings, error) {
	if _, err := s.services.AccountGameService(ctx, accountID, serviceID); err != nil {
		return nil, err
	}
	ms, err := s.monitorsOf(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	out := &Settings{ListingIDs: map[string]string{}, Plugins: []string{}}
	for _, m := range ms {
		out.Plugins = append(out.Plugins, m.Plugin)
		if m.ListingID != "" {
			out.ListingIDs[m.Plugin] = m.ListingID
		}
		if out.Address == "" {
			out.Enabled, out.Address, out.Port, out.Game, out.Manual = m.Enabled, m.Address, m.Port, m.Game, m.Manual
		}
	}
	return out, nil
}

// monitorsOf lists a service's monitors of enabled plugins, preferred
// first.
func (s *Service) monitorsOf(ctx context.Context, serviceID string) ([]Monitor, error) {
	var ms []Monitor
	if len(s.opts.Plugins) == 0 {
		return ms, nil
	}
	if err := s.db.Read.NewSelect().Model(&ms).Where("service_id = ?", serviceID).Where("plugin IN (?)", bun.List(s.opts.Plugins)).
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("monitoring: loading the monitors of %s: %w", serviceID, err)
	}
	s.priority(ms)
	return ms, nil
}

// ServerPage is a page of the staff list.
type ServerPage struct {
	Data       []Monitor `json:"data"`
	NextCursor string    `json:"next_cursor"`
}

// ListServers lists every monitor, by service and plugin, for staff.
// cursor is a previous page's NextCursor. Errors: Invalid on cursor.
func (s *Service) ListServers(ctx context.Context, cursor string, limit int) (*ServerPage, error) {
	afterService, afterPlugin, _ := strings.Cut(cursor, "/")
	if cursor != "" && (afterService == "" || afterPlugin == "") {
		return nil, apperr.Field("cursor", "is not a cursor of this list")
	}
	limit = min(max(limit, 1), 200)
	out := &ServerPage{Data: []Monitor{}}
	q := s.db.Read.NewSelect().Model(&out.Data).OrderExpr("service_id ASC, plugin ASC").Limit(int64(limit + 1))
	if cursor != "" {
		q = q.Where("service_id > ? OR (service_id = ? AND plugin > ?)", afterService, afterService, afterPlugin)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("monitoring: listing monitors: %w", err)
	}
	if len(out.Data) > limit {
		out.Data = out.Data[:limit]
		last := out.Data[limit-1]
		out.NextCursor = last.ServiceID + "/" + last.Plugin
	}
	return out, nil
}
