package monitoring

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
	"golang.org/x/sync/errgroup"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// jitter is the monitor's spread after the interval: derived from the
// monitor and the time, so it differs from sample to sample but not
// between replicas.
func (s *Service) jitter(serviceID, plugin string, at time.Time) time.Duration {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%s|%s|%d", serviceID, plugin, at.Unix())
	return time.Duration(h.Sum64() % uint64(s.opts.Jitter))
}

// offset is a new monitor's first sample within the interval, derived from
// the monitor, so the monitors of a fleet attached at once spread over the
// interval instead of all coming due together.
func (s *Service) offset(serviceID, plugin string) time.Duration {
	h := fnv.New64a()
	_, _ = fmt.Fprintf(h, "%s|%s", serviceID, plugin)
	return time.Duration(h.Sum64() % uint64(s.interval()))
}

// interval is the sampling interval (the default when Options.Interval
// is negative: no periodic jobs, but monitors still have an interval).
func (s *Service) interval() time.Duration {
	if s.opts.Interval < 0 {
		return DefaultOptions().Interval
	}
	return max(s.opts.Interval, time.Second)
}

// Tick is how often the sampling job runs: four times per interval, so a
// monitor waits at most a quarter of the interval past its due time (plus
// the run's own work).
func (s *Service) Tick() time.Duration { return max(s.interval()/4, time.Second) }

// SampleStats counts what a sampling run did.
type SampleStats struct {
	// Monitors sampled, samples stored, calls that failed, monitors
	// removed with their service.
	Monitors, Samples, Failed, Removed int
	// Lag is, per sampled monitor, how late its sample was taken.
	Lag []time.Duration
}

// Sample takes every due monitor's sample: batches of Options.Batch, the
// plugin calls outside any transaction with at most Options.Concurrency in
// flight, then one transaction per batch for the readings, the samples
// and any health change. It stops when nothing is due or when the job's
// budget runs low (the next run continues).
func (s *Service) Sample(ctx context.Context) (SampleStats, error) {
	var st SampleStats
	if len(s.opts.Plugins) == 0 {
		return st, nil
	}
	var slowest time.Duration
	for {
		if left := jobs.Remaining(ctx); st.Monitors > 0 && left < max(2*slowest, s.opts.CallTimeout+5*time.Second) {
			return st, nil
		}
		started := time.Now()
		now := s.now()
		var batch []Monitor
		if err := s.db.Read.NewSelect().Model(&batch).Where("enabled").Where("next_sample_at <= ?", now).
			Where("plugin IN (?)", bun.List(s.opts.Plugins)).OrderExpr("next_sample_at ASC").Limit(int64(s.opts.Batch)).Scan(ctx); err != nil {
			return st, fmt.Errorf("monitoring: selecting due monitors: %w", err)
		}
		if len(batch) == 0 {
			return st, nil
		}
		if err := s.sampleBatch(ctx, batch, &st); err != nil {
			return st, err
		}
		if len(batch) < s.opts.Batch || ctx.Err() != nil {
			return st, ctx.Err()
		}
		slowest = max(slowest, time.Since(started))
	}
}

type reading struct {
	resp *pb.GetServerStatsResponse
	err  error
	at   time.Time
}

func (s *Service) sampleBatch(ctx context.Context, batch []Monitor, st *SampleStats) error {
	ids := make([]string, 0, len(batch))
	for _, m := range batch {
		ids = append(ids, m.ServiceID)
	}
	svcs, err := s.services.GameServices(ctx, ids)
	if err != nil {
		return err
	}
	readings := make([]reading, len(batch))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Concurrency)
	var mu sync.Mutex
	for i := range batch {
		m := &batch[i]
		if svc, ok := svcs[m.ServiceID]; !ok || !svc.Live {
			continue
		}
		g.Go(func() error {
			resp, err := s.read(gctx, m)
			at := s.now()
			mu.Lock()
			readings[i] = reading{resp: resp, err: err, at: at}
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var samples []Sample
		for i := range batch {
			m := &batch[i]
			svc, ok := svcs[m.ServiceID]
			if !ok || !svc.Live {
				if _, err := tx.NewDelete().Model((*Monitor)(nil)).Where("service_id = ?", m.ServiceID).Exec(ctx); err != nil {
					return fmt.Errorf("monitoring: removing the monitors of %s: %w", m.ServiceID, err)
				}
				st.Removed++
				continue
			}
			r := readings[i]
			st.Monitors++
			st.Lag = append(st.Lag, max(0, r.at.Sub(m.NextSampleAt)))
			sample, err := s.apply(ctx, tx, m, svc, r)
			if err != nil {
				return err
			}
			if r.err != nil {
				st.Failed++
			}
			if sample != nil {
				samples = append(samples, *sample)
			}
		}
		if len(samples) > 0 {
			res, err := tx.NewInsert().Model(&samples).On("CONFLICT DO NOTHING").Exec(ctx)
			if err != nil {
				return fmt.Errorf("monitoring: storing %d samples: %w", len(samples), err)
			}
			n, _ := res.RowsAffected()
			st.Samples += int(n)
		}
		return nil
	})
}

// read calls the monitor's plugin.
func (s *Service) read(ctx context.Context, m *Monitor) (*pb.GetServerStatsResponse, error) {
	if s.plugins == nil {
		return nil, sdk.UnavailableError(0, "no plugin host")
	}
	p, err := s.plugins.Monitor(m.Plugin)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	return p.GetServerStats(cctx, &pb.GetServerStatsRequest{Address: m.Address, Port: int32(m.Port), Game: m.Game,
		ProviderServerId: m.ListingID})
}

// apply records one reading on its monitor (in tx) and returns the sample
// to store, if any.
func (s *Service) apply(ctx context.Context, tx bun.Tx, m *Monitor, svc GameService, r reading) (*Sample, error) {
	at := r.at
	// The next sample is an interval after this one was due, give or take
	// half the jitter, so a late run does not stretch the interval; a
	// monitor more than an interval behind starts afresh from now.
	next := m.NextSampleAt.Add(s.interval() + s.jitter(m.ServiceID, m.Plugin, at) - s.opts.Jitter/2)
	if !next.After(at) {
		next = at.Add(s.jitter(m.ServiceID, m.Plugin, at))
	}
	q := tx.NewUpdate().Model((*Monitor)(nil)).Where("service_id = ?", m.ServiceID).Where("plugin = ?", m.Plugin).
		Set("updated_at = ?", at)
	if r.err != nil {
		status, msg := m.Status, "the listing did not answer; the next sample will try again"
		switch sdk.KindOf(r.err) {
		case sdk.NotFound:
			status, msg = StatusNotListed, "the listing does not have a server at this address"
		case sdk.Unavailable:
			if ra := sdk.RetryAfterOf(r.err); ra > s.interval() {
				next = at.Add(ra + s.jitter(m.ServiceID, m.Plugin, at))
			}
		case sdk.Unauthenticated:
			msg = "the listing refused the monitor plugin's credentials"
		default:
			msg = "the monitor plugin failed"
		}
		s.log.Debug("monitor sample failed", "service_id", m.ServiceID, "plugin", m.Plugin, "error", r.err)
		_, err := q.Set("status = ?, last_error = ?, next_sample_at = ?", status, msg, next).Exec(ctx)
		if err != nil {
			return nil, fmt.Errorf("monitoring: recording the %s sample of %s: %w", m.Plugin, m.ServiceID, err)
		}
		return nil, nil
	}
	resp := r.resp
	// What a listing says is the server owner's text (a name, a map):
	// bounded and made storable, so one odd name cannot fail the batch's
	// transaction and lose every other monitor's sample with it.
	q = q.Set("listing_url = ?, banner_url = ?, stale = ?, last_error = '', next_sample_at = ?",
		database.Text(resp.GetListingUrl(), maxURL), database.Text(resp.GetBannerUrl(), maxURL), resp.GetStale(), next)
	if m.ListingID == "" && resp.GetProviderServerId() != "" {
		// Learned once: later samples read the server by its id.
		q = q.Set("listing_id = ?", resp.GetProviderServerId())
	}
	if resp.GetStale() {
		if _, err := q.Exec(ctx); err != nil {
			return nil, fmt.Errorf("monitoring: recording the %s sample of %s: %w", m.Plugin, m.ServiceID, err)
		}
		return nil, nil
	}
	online := resp.GetStatus() == "online"
	players, maxPlayers, rank := max(0, int(resp.GetPlayers())), max(0, int(resp.GetMaxPlayers())), max(0, int(resp.GetRank()))
	q = q.Set("status = ?, name = ?, map = ?, players = ?, max_players = ?, rank = ?, last_sample_at = ?",
		resp.GetStatus(), database.Text(resp.GetName(), maxListingText), database.Text(resp.GetMap(), maxListingText), players, maxPlayers, rank, at)

	streak, reported := 0, m.ReportedDown
	var change *bool
	switch {
	case !online && svc.Running:
		streak = m.DownStreak + 1
		if streak >= s.opts.DownAfter && !reported {
			reported, change = true, ptr(true)
		}
	case online && reported:
		reported, change = false, ptr(false)
	}
	q = q.Set("down_streak = ?, reported_down = ?", streak, reported)
	if _, err := q.Exec(ctx); err != nil {
		return nil, fmt.Errorf("monitoring: recording the %s sample of %s: %w", m.Plugin, m.ServiceID, err)
	}
	if change != nil && s.health != nil {
		reason := ""
		if *change {
			reason = fmt.Sprintf("the %s listing shows the server %s in %d samples in a row while it runs", m.Plugin, resp.GetStatus(), streak)
		}
		if err := s.health(ctx, tx, m.AccountID, m.ServiceID, *change, reason); err != nil {
			return nil, err
		}
	}
	return &Sample{ServiceID: m.ServiceID, Plugin: m.Plugin, SampledAt: at.Truncate(time.Second), Online: online, Players: players,
		MaxPlayers: maxPlayers, Rank: rank}, nil
}

func ptr[T any](v T) *T { return &v }

// Attach gives every active game service with an address a monitor per
// enabled monitor plugin, unless it has one (a manual one included). It
// returns how many it added.
func (s *Service) Attach(ctx context.Context) (int, error) {
	if len(s.opts.Plugins) == 0 {
		return 0, nil
	}
	added, after := 0, ""
	for {
		svcs, err := s.services.ActiveGameServices(ctx, after, 500)
		if err != nil {
			return added, err
		}
		if len(svcs) == 0 {
			return added, nil
		}
		after = svcs[len(svcs)-1].ID
		now := s.now()
		var ms []Monitor
		for _, svc := range svcs {
			host, port, ok := AddressOf(svc.Attributes)
			if !ok {
				continue
			}
			for _, plugin := range s.opts.Plugins {
				ms = append(ms, Monitor{ServiceID: svc.ID, Plugin: plugin, AccountID: svc.AccountID, Address: host, Port: port,
					Enabled: true, Status: StatusUnknown, NextSampleAt: now.Add(s.offset(svc.ID, plugin)), CreatedAt: now, UpdatedAt: now})
			}
		}
		if len(ms) > 0 {
			res, err := s.db.NewInsert().Model(&ms).On("CONFLICT (service_id, plugin) DO NOTHING").Exec(ctx)
			if err != nil {
				return added, fmt.Errorf("monitoring: attaching monitors: %w", err)
			}
			n, _ := res.RowsAffected()
			added += int(n)
		}
	}
}

// Prune deletes samples older than Options.Retention, in batches (a long
// delete would hold SQLite's one write connection), and returns how many.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.opts.Retention)
	var total int64
	for {
		res, err := s.db.NewRaw(`DELETE FROM game_monitor_samples WHERE (service_id, plugin, sampled_at) IN
			(SELECT service_id, plugin, sampled_at FROM game_monitor_samples WHERE sampled_at < ? LIMIT 5000)`, cutoff).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("monitoring: pruning samples: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}

func (s *Service) registerJobs(reg *jobs.Registry) {
	jobs.Add(reg, &sampleWorker{s: s})
	jobs.Add(reg, &attachWorker{s: s})
	jobs.Add(reg, &pruneWorker{s: s})
	if len(s.opts.Plugins) == 0 || s.opts.Interval < 0 {
		return
	}
	reg.Periodic("monitoring_sample", s.Tick(), func() river.JobArgs { return sampleArgs{} })
	reg.Periodic("monitoring_attach", s.opts.AttachInterval, func() river.JobArgs { return attachArgs{} })
	reg.Periodic("monitoring_prune", time.Hour, func() river.JobArgs { return pruneArgs{} })
}

// maxListingText bounds a listed server's name and map, maxURL its links.
const (
	maxListingText = 255
	maxURL         = 2048
)

type sampleArgs struct{}

func (sampleArgs) Kind() string { return "monitoring_sample" }

type sampleWorker struct {
	river.WorkerDefaults[sampleArgs]
	s *Service
}

// Timeout is short: what a run leaves due, the next run takes.
func (w *sampleWorker) Timeout(*river.Job[sampleArgs]) time.Duration { return 2 * time.Minute }

func (w *sampleWorker) Work(ctx context.Context, _ *river.Job[sampleArgs]) error {
	st, err := w.s.Sample(ctx)
	w.s.log.Debug("monitors sampled", "monitors", st.Monitors, "samples", st.Samples, "failed", st.Failed, "removed", st.Removed)
	return err
}

type attachArgs struct{}

func (attachArgs) Kind() string { return "monitoring_attach" }

type attachWorker struct {
	river.WorkerDefaults[attachArgs]
	s *Service
}

func (w *attachWorker) Timeout(*river.Job[attachArgs]) time.Duration { return 2 * time.Minute }

func (w *attachWorker) Work(ctx context.Context, _ *river.Job[attachArgs]) error {
	_, err := w.s.Attach(ctx)
	return err
}

type pruneArgs struct{}

func (pruneArgs) Kind() string { return "monitoring_prune" }

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	s *Service
}

func (w *pruneWorker) Timeout(*river.Job[pruneArgs]) time.Duration { return 2 * time.Minute }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	_, err := w.s.Prune(ctx)
	return err
}
