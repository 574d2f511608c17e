package pluginoption

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
)

// Live is the plugin host, which knows the declaration of every plugin it
// has started (*pluginhost.Host).
type Live interface {
	Get(name string) (pluginhost.Info, error)
}

// Declaration is a plugin's option declaration and where it came from.
type Declaration struct {
	Plugin  string      `json:"plugin"`
	Version string      `json:"version"`
	Options sdk.Options `json:"options"`
	// Live is true when this process's plugin host gave it (the plugin's
	// latest description); otherwise it is the last one stored, described
	// at DescribedAt.
	Live        bool      `json:"live"`
	DescribedAt time.Time `json:"described_at"`
}

// row is a stored declaration (plugin_option_declarations).
type row struct {
	Plugin      string    `bun:"plugin"`
	Version     string    `bun:"version"`
	Options     string    `bun:"options"`
	DescribedAt time.Time `bun:"described_at"`
}

// Store keeps the last declaration of each plugin, so plans can be saved
// and orders checked while a plugin is not running (a crash, a restart, or
// `ezscale catalog import` before the first `serve`).
type Store struct {
	db  *database.DB
	now func() time.Time
}

// NewStore returns a store over db; now is the clock (nil: wall clock).
func NewStore(db *database.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

// Record stores a plugin's option declaration as it just described it,
// replacing the previous one. The host's start and `ezscale catalog import`
// (describe mode) call it.
func (s *Store) Record(ctx context.Context, plugin, version string, opts sdk.Options) error {
	if opts == nil {
		opts = sdk.Options{}
	}
	b, err := json.Marshal(opts)
	if err != nil {
		return fmt.Errorf("pluginoption: encoding the declaration of %s: %w", plugin, err)
	}
	_, err = s.db.Conn(ctx).NewRaw(`INSERT INTO plugin_option_declarations (plugin, version, options, described_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (plugin) DO UPDATE SET version = excluded.version, options = excluded.options, described_at = excluded.described_at`,
		plugin, version, string(b), s.now().UTC()).Exec(ctx)
	if err != nil {
		return fmt.Errorf("pluginoption: storing the declaration of %s: %w", plugin, err)
	}
	return nil
}

// Get returns a plugin's declaration: the one live holds when the host has
// described the plugin (live may be nil), else the last one stored (read
// inside the ambient transaction, else from the read pool). Errors: Unavailable when
// the plugin has never described itself to this platform.
func (s *Store) Get(ctx context.Context, live Live, plugin string) (Declaration, error) {
	if d, ok := FromLive(live, plugin); ok {
		return d, nil
	}
	var r row
	err := s.db.ReadConn(ctx).NewRaw("SELECT plugin, version, options, described_at FROM plugin_option_declarations WHERE plugin = ?", plugin).Scan(ctx, &r)
	if database.IsNoRows(err) {
		return Declaration{}, apperr.New(apperr.Unavailable,
			"the %s plugin is not running and has never described its options, so they cannot be checked; start it and try again", plugin).
			WithReason("plugin_unavailable")
	}
	if err != nil {
		return Declaration{}, fmt.Errorf("pluginoption: loading the declaration of %s: %w", plugin, err)
	}
	d := Declaration{Plugin: r.Plugin, Version: r.Version, DescribedAt: r.DescribedAt}
	if err := json.Unmarshal([]byte(r.Options), &d.Options); err != nil {
		return Declaration{}, fmt.Errorf("pluginoption: decoding the declaration of %s: %w", plugin, err)
	}
	return d, nil
}

// FromLive returns the declaration the host holds from the plugin's latest
// Describe, if it has described it.
func FromLive(live Live, plugin string) (Declaration, bool) {
	if live == nil {
		return Declaration{}, false
	}
	in, err := live.Get(plugin)
	if err != nil || in.Version == "" {
		return Declaration{}, false
	}
	return Declaration{Plugin: plugin, Version: in.Version, Options: in.Options, Live: true}, true
}
