package provisioning

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
	"golang.org/x/sync/errgroup"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// UsageSample is one reading of a service's resources. Units are in the
// names: CPU in hundredths of a percent of the allocated CPU (100 % per
// core, summed: a 2-core server flat out is 20000), everything else in
// bytes; bandwidth is the backend's counters for its current period (its
// own notion: VirtFusion's traffic period, Pterodactyl's since the
// container started).
type UsageSample struct {
	bun.BaseModel `bun:"table:usage_samples"`

	ServiceID           string    `bun:"service_id,pk" json:"-"`
	SampledAt           time.Time `bun:"sampled_at,pk" json:"sampled_at"`
	CPUCentipercent     int64     `bun:"cpu_centipercent" json:"cpu_centipercent"`
	RAMUsedBytes        int64     `bun:"ram_used_bytes" json:"ram_used_bytes"`
	RAMTotalBytes       int64     `bun:"ram_total_bytes" json:"ram_total_bytes"`
	DiskUsedBytes       int64     `bun:"disk_used_bytes" json:"disk_used_bytes"`
	DiskTotalBytes      int64     `bun:"disk_total_bytes" json:"disk_total_bytes"`
	BandwidthInBytes    int64     `bun:"bandwidth_in_bytes" json:"bandwidth_in_bytes"`
	BandwidthOutBytes   int64     `bun:"bandwidth_out_bytes" json:"bandwidth_out_bytes"`
	BandwidthLimitBytes int64     `bun:"bandwidth_limit_bytes" json:"bandwidth_limit_bytes"`
}

// sampleOf converts a plugin's answer: the CPU percentage (the protocol's
// one float, not money) rounded once to hundredths, negatives (a backend's
// "unknown") as 0.
func sampleOf(serviceID string, at time.Time, r *pb.UsageResponse) UsageSample {
	cpu := r.GetCpuPercent() * 100
	if math.IsNaN(cpu) || cpu < 0 {
		cpu = 0
	}
	if cpu > math.MaxInt32 {
		cpu = math.MaxInt32
	}
	nn := func(v int64) int64 { return max(v, 0) }
	return UsageSample{
		ServiceID: serviceID, SampledAt: at, CPUCentipercent: int64(math.Round(cpu)),
		RAMUsedBytes: nn(r.GetRamUsedBytes()), RAMTotalBytes: nn(r.GetRamTotalBytes()),
		DiskUsedBytes: nn(r.GetDiskUsedBytes()), DiskTotalBytes: nn(r.GetDiskTotalBytes()),
		BandwidthInBytes: nn(r.GetBandwidthInBytes()), BandwidthOutBytes: nn(r.GetBandwidthOutBytes()),
		BandwidthLimitBytes: nn(r.GetBandwidthLimitBytes()),
	}
}

// usageTarget is an active service as the collector reads it: enough to
// build the ServiceRef a Usage call needs (no customer lookup per service).
type usageTarget struct {
	ID     string
	Plugin string
	// ref is the service as its provisioner is told about it (billing's
	// ProvisionerViews, the description every caller sends).
	ref *pb.ServiceRef
}

// CollectStats counts what a collection did.
type CollectStats struct {
	// Services asked, samples stored, calls that failed.
	Services, Samples, Failed int
	// Skipped lists plugins of active services that do not report usage
	// (or are not running).
	Skipped []string
}

// CollectUsage samples every active service whose provisioner reports
// usage (its Describe lists the usage capability): services are read in
// pages of UsageBatch by primary key, each page's Usage calls run with at
// most UsageConcurrency in flight and no transaction open, and the page's
// samples are written in one statement. All samples of one collection share
// its time (truncated to the second), so a repeated collection stores
// nothing twice. A failed call is counted and logged and leaves no sample;
// it never stops the others.
func (s *Service) CollectUsage(ctx context.Context) (CollectStats, error) {
	st, _, err := s.collect(ctx, usageCursor{})
	return st, err
}

// usageCursor is where a collection continues: its time, and the last
// service sampled.
type usageCursor struct {
	At    time.Time
	After string
}

// collect samples from cur on. When ctx's deadline (the job's budget)
// leaves too little time for another page, it stops and returns where to
// continue.
func (s *Service) collect(ctx context.Context, cur usageCursor) (CollectStats, *usageCursor, error) {
	var st CollectStats
	at := cur.At
	if at.IsZero() {
		at = s.now().Truncate(time.Second)
	}
	plugins, err := s.services.ActiveProvisioners(ctx)
	if err != nil {
		return st, nil, err
	}
	var supported []string
	for _, name := range plugins {
		if s.supports(name, sdk.CapUsage) {
			supported = append(supported, name)
		} else {
			st.Skipped = append(st.Skipped, name)
		}
	}
	if len(supported) == 0 {
		return st, nil, nil
	}
	after := cur.After
	// A page takes as long as its slowest calls: keep room for one more
	// than the slowest page so far, and for a call's full timeout.
	var slowest time.Duration
	for {
		if left := jobs.Remaining(ctx); after != "" && left < max(2*slowest, s.opts.CallTimeout+10*time.Second) {
			return st, &usageCursor{At: at, After: after}, nil
		}
		started := time.Now()
		ids, err := s.services.ActiveServicesAfter(ctx, supported, after, s.opts.UsageBatch)
		if err != nil {
			return st, nil, fmt.Errorf("provisioning: selecting services to sample: %w", err)
		}
		if len(ids) == 0 {
			return st, nil, nil
		}
		after = ids[len(ids)-1]
		views, err := s.ProvisionerViews(ctx, ids)
		if err != nil {
			return st, nil, fmt.Errorf("provisioning: describing services to sample: %w", err)
		}
		batch := make([]usageTarget, 0, len(ids))
		for _, id := range ids {
			v, ok := views[id]
			switch {
			case !ok: // gone since the page was read
			case v.Refused != nil:
				st.Failed++
				s.log.Warn("usage sample skipped", "service_id", id, "error", v.Refused)
			default:
				batch = append(batch, usageTarget{ID: id, Plugin: v.Plugin, ref: v.Ref})
			}
		}
		samples, failed := s.sampleBatch(ctx, batch, at)
		st.Services += len(ids)
		st.Failed += failed
		if len(samples) > 0 {
			res, err := s.db.NewInsert().Model(&samples).On("CONFLICT DO NOTHING").Exec(ctx)
			if err != nil {
				return st, nil, fmt.Errorf("provisioning: storing %d usage samples: %w", len(samples), err)
			}
			n, _ := res.RowsAffected()
			st.Samples += int(n)
		}
		if ctx.Err() != nil {
			return st, nil, ctx.Err()
		}
		slowest = max(slowest, time.Since(started))
	}
}

// sampleBatch calls Usage for each target, at most UsageConcurrency at a
// time, each bounded by CallTimeout.
func (s *Service) sampleBatch(ctx context.Context, batch []usageTarget, at time.Time) ([]UsageSample, int) {
	var mu sync.Mutex
	samples := make([]UsageSample, 0, len(batch))
	failed := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.UsageConcurrency)
	for i := range batch {
		t := &batch[i]
		g.Go(func() error {
			resp, err := s.usageOf(gctx, t)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				if failed <= 3 {
					s.log.Warn("usage sample failed", "service_id", t.ID, "plugin", t.Plugin, "error", err)
				}
				return nil
			}
			samples = append(samples, sampleOf(t.ID, at, resp))
			return nil
		})
	}
	_ = g.Wait()
	if failed > 3 {
		s.log.Warn("usage samples failed", "failed", failed, "of", len(batch))
	}
	return samples, failed
}

func (s *Service) usageOf(ctx context.Context, t *usageTarget) (*pb.UsageResponse, error) {
	prov, err := s.provisioner(t.Plugin, sdk.CapUsage)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	return prov.Usage(cctx, &pb.UsageRequest{Service: t.ref})
}

// PruneUsage deletes samples older than UsageRetention, in batches (a
// long delete would hold SQLite's one write connection), and returns how
// many it deleted.
func (s *Service) PruneUsage(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.opts.UsageRetention)
	var total int64
	for {
		res, err := s.db.NewRaw(`DELETE FROM usage_samples WHERE (service_id, sampled_at) IN
			(SELECT service_id, sampled_at FROM usage_samples WHERE sampled_at < ? LIMIT 5000)`, cutoff).Exec(ctx)
		if err != nil {
			return total, fmt.Errorf("provisioning: pruning usage samples: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}

// UsageQuery selects a service's samples.
type UsageQuery struct {
	// Since and Until bound sampled_at (Since inclusive, Until exclusive);
	// zero Since is Until less a day, zero Until is now.
	Since, Until time.Time
	// After is the sampled_at of the last sample of the previous page.
	After *time.Time
	Limit int
}

// Usage lists one of the account's services' samples, oldest first.
// Errors: NotFound (another account's service), Invalid.
func (s *Service) Usage(ctx context.Context, accountID, serviceID string, q UsageQuery) ([]UsageSample, error) {
	if _, err := s.services.Service(ctx, accountID, serviceID); err != nil {
		return nil, err
	}
	if q.Until.IsZero() {
		q.Until = s.now().Add(time.Second)
	}
	if q.Since.IsZero() {
		q.Since = q.Until.Add(-24 * time.Hour)
	}
	if !q.Since.Before(q.Until) {
		return nil, apperr.Field("since", "must be before until")
	}
	var out []UsageSample
	sel := s.db.Read.NewSelect().Model(&out).Where("service_id = ?", serviceID).
		Where("sampled_at >= ?", q.Since.UTC()).Where("sampled_at < ?", q.Until.UTC()).OrderExpr("sampled_at ASC").Limit(int64(q.Limit))
	if q.After != nil {
		sel = sel.Where("sampled_at > ?", q.After.UTC())
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, fmt.Errorf("provisioning: listing usage of %s: %w", serviceID, err)
	}
	return out, nil
}

// usageArgs is the periodic usage collection (zero), or its follow-up:
// a collection that ran out of budget continues in a new job from After,
// with the same sample time.
type usageArgs struct {
	At    time.Time `json:"at,omitzero"`
	After string    `json:"after,omitempty"`
}

func (usageArgs) Kind() string { return "provisioning_usage_collect" }

type usageWorker struct {
	river.WorkerDefaults[usageArgs]
	s *Service
}

// Timeout is short (a crashed replica's jobs are rescued after the longest
// timeout): a collection with more to do continues in a follow-up job.
func (w *usageWorker) Timeout(*river.Job[usageArgs]) time.Duration { return 2 * time.Minute }

func (w *usageWorker) Work(ctx context.Context, job *river.Job[usageArgs]) error {
	start := time.Now()
	st, next, err := w.s.collect(ctx, usageCursor{At: job.Args.At, After: job.Args.After})
	if err == nil && next != nil {
		if _, err := w.s.jobs.Insert(ctx, usageArgs{At: next.At, After: next.After}, nil); err != nil {
			return fmt.Errorf("provisioning: queueing the rest of the usage collection: %w", err)
		}
		w.s.log.Debug("usage collection continues in a follow-up job", "after", next.After)
	}
	w.s.log.Debug("usage collected", "services", st.Services, "samples", st.Samples, "failed", st.Failed,
		"skipped_plugins", st.Skipped, "took", time.Since(start).Round(time.Millisecond))
	return err
}

// pruneArgs is the hourly retention of usage samples.
type pruneArgs struct{}

func (pruneArgs) Kind() string { return "provisioning_usage_prune" }

type pruneWorker struct {
	river.WorkerDefaults[pruneArgs]
	s *Service
}

func (w *pruneWorker) Timeout(*river.Job[pruneArgs]) time.Duration { return 2 * time.Minute }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[pruneArgs]) error {
	_, err := w.s.PruneUsage(ctx)
	return err
}

// ServiceUsage is one service of an account with its latest usage sample
// (nil before the first collection).
type ServiceUsage struct {
	ServiceID string       `json:"service_id"`
	Label     string       `json:"label"`
	Status    string       `json:"status"`
	Latest    *UsageSample `json:"latest"`
}

// AccountUsage lists the account's services (newest first, a page of
// f.Limit after f.After, among f.Among: a project's) with each one's
// latest sample: what the account, or one project of it, uses now.
func (s *Service) AccountUsage(ctx context.Context, f services.Filter) ([]ServiceUsage, error) {
	svcs, err := s.services.List(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceUsage, len(svcs))
	ids := make([]string, len(svcs))
	for i, sv := range svcs {
		out[i] = ServiceUsage{ServiceID: sv.ID, Label: sv.Label, Status: sv.Status}
		ids[i] = sv.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var latest []UsageSample
	err = s.db.Read.NewSelect().Model(&latest).
		Where("service_id IN (?)", bun.List(ids)).
		Where("sampled_at = (SELECT MAX(l.sampled_at) FROM usage_samples AS l WHERE l.service_id = usage_sample.service_id)").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("provisioning: loading the latest usage of %d services: %w", len(ids), err)
	}
	byService := make(map[string]*UsageSample, len(latest))
	for i := range latest {
		byService[latest[i].ServiceID] = &latest[i]
	}
	for i := range out {
		out[i].Latest = byService[out[i].ServiceID]
	}
	return out, nil
}
