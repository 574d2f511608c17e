package monitoring

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ezscale/platform/core/apperr"
)

// Ranges of the player chart, with the width of its buckets.
var ranges = map[string]struct{ span, bucket time.Duration }{
	"7d":  {7 * 24 * time.Hour, time.Hour},
	"30d": {30 * 24 * time.Hour, 6 * time.Hour},
}

// Listing is a service as one listing shows it.
type Listing struct {
	Plugin       string     `json:"plugin"`
	Status       string     `json:"status"`
	ListingURL   string     `json:"listing_url"`
	BannerURL    string     `json:"banner_url"`
	Stale        bool       `json:"stale"`
	Players      int        `json:"players"`
	MaxPlayers   int        `json:"max_players"`
	Rank         int        `json:"rank"`
	LastSampleAt *time.Time `json:"last_sample_at"`
	LastError    string     `json:"last_error"`
}

// Point is one bucket of the player chart: the average, least and most
// players of its samples.
type Point struct {
	At      time.Time `json:"at"`
	Players int       `json:"players"`
	Min     int       `json:"min"`
	Max     int       `json:"max"`
	Samples int       `json:"samples"`
}

// Summary is what the service page shows: the current numbers from the
// preferred listing with a fresh reading, the uptime and the player chart
// over Range, and every listing with its links.
type Summary struct {
	ServiceID string `json:"service_id"`
	// Monitored: the service has a monitor (false: nothing below is set).
	Monitored bool `json:"monitored"`
	// Source is the plugin the numbers come from.
	Source       string     `json:"source"`
	Status       string     `json:"status"`
	Name         string     `json:"name"`
	Map          string     `json:"map"`
	Players      int        `json:"players"`
	MaxPlayers   int        `json:"max_players"`
	Rank         int        `json:"rank"`
	Stale        bool       `json:"stale"`
	LastSampleAt *time.Time `json:"last_sample_at"`
	// UptimePercent is the share of samples in Range in which the listing
	// showed the server online, to two decimals; nil without samples.
	UptimePercent *float64  `json:"uptime_percent"`
	Range         string    `json:"range"`
	BucketSeconds int       `json:"bucket_seconds"`
	History       []Point   `json:"history"`
	Listings      []Listing `json:"listings"`
}

// Summary returns one of the account's game services as its listings
// show it; rng is "7d" (default) or "30d". Errors: NotFound, Invalid on
// range.
func (s *Service) Summary(ctx context.Context, accountID, serviceID, rng string) (*Summary, error) {
	if rng == "" {
		rng = "7d"
	}
	r, ok := ranges[rng]
	if !ok {
		return nil, apperr.Field("range", "must be 7d or 30d")
	}
	if _, err := s.services.AccountGameService(ctx, accountID, serviceID); err != nil {
		return nil, err
	}
	ms, err := s.monitorsOf(ctx, serviceID)
	if err != nil {
		return nil, err
	}
	out := &Summary{ServiceID: serviceID, Range: rng, BucketSeconds: int(r.bucket / time.Second), History: []Point{}, Listings: []Listing{}}
	if len(ms) == 0 {
		return out, nil
	}
	out.Monitored = true
	for _, m := range ms {
		out.Listings = append(out.Listings, Listing{Plugin: m.Plugin, Status: m.Status, ListingURL: m.ListingURL, BannerURL: m.BannerURL,
			Stale: m.Stale, Players: m.Players, MaxPlayers: m.MaxPlayers, Rank: m.Rank, LastSampleAt: m.LastSampleAt, LastError: m.LastError})
	}
	src := preferred(ms)
	out.Source, out.Status, out.Name, out.Map = src.Plugin, src.Status, src.Name, src.Map
	out.Players, out.MaxPlayers, out.Rank, out.Stale, out.LastSampleAt = src.Players, src.MaxPlayers, src.Rank, src.Stale, src.LastSampleAt

	until := s.now()
	since := until.Add(-r.span)
	var samples []Sample
	if err := s.db.Read.NewSelect().Model(&samples).Column("sampled_at", "online", "players").
		Where("service_id = ?", serviceID).Where("plugin = ?", src.Plugin).Where("sampled_at >= ?", since).
		OrderExpr("sampled_at ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("monitoring: loading the samples of %s: %w", serviceID, err)
	}
	out.History, out.UptimePercent = chart(samples, since, r.bucket)
	return out, nil
}

// preferred is the first monitor (in plugin order) with a fresh reading,
// else the first with any reading, else the first.
func preferred(ms []Monitor) Monitor {
	for _, m := range ms {
		if m.LastSampleAt != nil && !m.Stale {
			return m
		}
	}
	for _, m := range ms {
		if m.LastSampleAt != nil {
			return m
		}
	}
	return ms[0]
}

// chart buckets samples (oldest first) from since and computes the
// uptime. Empty buckets are left out.
func chart(samples []Sample, since time.Time, bucket time.Duration) ([]Point, *float64) {
	points := []Point{}
	if len(samples) == 0 {
		return points, nil
	}
	online, sum := 0, 0
	var cur *Point
	flush := func() {
		if cur != nil {
			cur.Players = int(math.Round(float64(sum) / float64(cur.Samples)))
			points = append(points, *cur)
		}
	}
	for _, smp := range samples {
		if smp.Online {
			online++
		}
		at := smp.SampledAt.UTC().Truncate(bucket)
		if cur == nil || !cur.At.Equal(at) {
			flush()
			cur, sum = &Point{At: at, Min: smp.Players, Max: smp.Players}, 0
		}
		cur.Samples++
		sum += smp.Players
		cur.Min, cur.Max = min(cur.Min, smp.Players), max(cur.Max, smp.Players)
	}
	flush()
	up := math.Round(float64(online)*10000/float64(len(samples))) / 100
	return points, &up
}
