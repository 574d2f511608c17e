package projects

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
)

// Causes of an outage: why a service is down.
const (
	// CauseHealthCheck: auto-recovery's health check fails.
	CauseHealthCheck = "health_check"
	// CauseSuspended: the service is suspended.
	CauseSuspended = "suspended"
	// CauseFailed: provisioning failed and left the service broken.
	CauseFailed = "failed"
)

// Notifier is how cascade alerts reach people (core/notify's Notify), in
// the caller's transaction.
type Notifier interface {
	Notify(ctx context.Context, tx bun.Tx, ev notify.Event) error
}

// outage is a service that is down (causes not empty), or was.
type outage struct {
	bun.BaseModel `bun:"table:service_outages"`

	ServiceID string    `bun:"service_id,pk"`
	AccountID string    `bun:"account_id"`
	EpisodeID string    `bun:"episode_id"`
	Causes    string    `bun:"causes"`
	Reason    string    `bun:"reason"`
	StartedAt time.Time `bun:"started_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (o *outage) down() bool { return o.Causes != "" }

func (o *outage) causeSet() []string {
	if o.Causes == "" {
		return nil
	}
	return strings.Split(o.Causes, ",")
}

// outageNotice is a dependent told of an outage: down when written,
// recovered when RecoveredAt is set.
type outageNotice struct {
	bun.BaseModel `bun:"table:service_outage_notices"`

	EpisodeID   string     `bun:"episode_id,pk"`
	ServiceID   string     `bun:"service_id,pk"`
	RootID      string     `bun:"root_id"`
	AccountID   string     `bun:"account_id"`
	NotifiedAt  time.Time  `bun:"notified_at"`
	RecoveredAt *time.Time `bun:"recovered_at"`
}

// ServiceDown records, in the transaction of the change that took it down
// (billing's status change, auto-recovery's failed check), that serviceID
// is down for cause; reason says why, in the customer's words. The first
// cause of an outage starts it and queues the cascade alert; a cause
// already recorded, or another while the service is still down, changes
// nothing anyone is told. Without Options.Jobs it does nothing.
func (s *Service) ServiceDown(ctx context.Context, tx bun.Tx, accountID, serviceID, cause, reason string) error {
	if s.jobs == nil {
		return nil
	}
	o, err := s.lockOutage(ctx, tx, accountID, serviceID)
	if err != nil {
		return err
	}
	causes := o.causeSet()
	if slices.Contains(causes, cause) {
		return nil
	}
	started := !o.down()
	now := s.now()
	if started {
		o.EpisodeID, o.StartedAt, o.Reason = newID(), now, reason
	}
	causes = append(causes, cause)
	slices.Sort(causes)
	o.Causes, o.UpdatedAt = strings.Join(causes, ","), now
	if _, err := tx.NewUpdate().Model(o).WherePK().Column("episode_id", "causes", "reason", "started_at", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("projects: recording the outage of %s: %w", serviceID, err)
	}
	if !started {
		return nil
	}
	return s.queueCascade(ctx, tx, accountID, serviceID)
}

// ServiceUp records, in the transaction of the change, that the causes of
// serviceID's outage are over (none named: every cause). When none is
// left the service has recovered, and the recovery notices are queued.
func (s *Service) ServiceUp(ctx context.Context, tx bun.Tx, accountID, serviceID string, causes ...string) error {
	if s.jobs == nil {
		return nil
	}
	o := &outage{}
	q := tx.NewSelect().Model(o).Where("service_id = ?", serviceID).Where("account_id = ?", accountID)
	q = database.ForUpdate(q)
	err := q.Scan(ctx)
	if database.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("projects: loading the outage of %s: %w", serviceID, err)
	}
	if !o.down() {
		return nil
	}
	left := slices.DeleteFunc(o.causeSet(), func(c string) bool { return len(causes) == 0 || slices.Contains(causes, c) })
	joined := strings.Join(left, ",")
	if joined == o.Causes {
		return nil
	}
	o.Causes, o.UpdatedAt = joined, s.now()
	if _, err := tx.NewUpdate().Model(o).WherePK().Column("causes", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("projects: recording the recovery of %s: %w", serviceID, err)
	}
	if o.down() {
		return nil
	}
	return s.queueCascade(ctx, tx, accountID, serviceID)
}

// lockOutage returns serviceID's outage row, created (up) when it has
// none, locked until tx ends on PostgreSQL (SQLite has one writer).
func (s *Service) lockOutage(ctx context.Context, tx bun.Tx, accountID, serviceID string) (*outage, error) {
	now := s.now()
	if _, err := tx.NewInsert().Model(&outage{ServiceID: serviceID, AccountID: accountID, EpisodeID: newID(), StartedAt: now, UpdatedAt: now}).
		On("CONFLICT (service_id) DO NOTHING").Exec(ctx); err != nil {
		return nil, fmt.Errorf("projects: recording the outage of %s: %w", serviceID, err)
	}
	o := &outage{}
	q := tx.NewSelect().Model(o).Where("service_id = ?", serviceID)
	q = database.ForUpdate(q)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("projects: loading the outage of %s: %w", serviceID, err)
	}
	return o, nil
}

// KindCascade is the job that tells the dependents of a service that went
// down or recovered.
const KindCascade = "projects_cascade"

type cascadeArgs struct {
	AccountID string `json:"account_id"`
	RootID    string `json:"root_id"`
}

func (cascadeArgs) Kind() string { return KindCascade }

func (s *Service) queueCascade(ctx context.Context, tx bun.Tx, accountID, rootID string) error {
	if _, err := s.jobs.InsertTx(ctx, tx, cascadeArgs{AccountID: accountID, RootID: rootID}, nil); err != nil {
		return fmt.Errorf("projects: queueing the cascade alert of %s: %w", rootID, err)
	}
	return nil
}

type cascadeWorker struct {
	river.WorkerDefaults[cascadeArgs]
	s *Service
}

func (w *cascadeWorker) Timeout(*river.Job[cascadeArgs]) time.Duration { return time.Minute }

func (w *cascadeWorker) Work(ctx context.Context, job *river.Job[cascadeArgs]) error {
	_, err := w.s.Cascade(ctx, job.Args.AccountID, job.Args.RootID)
	return err
}

// CascadeResult says what one Cascade told.
type CascadeResult struct {
	// Down and Recovered are the dependents told, in id order.
	Down      []string
	Recovered []string
}

// Cascade brings the alerts about rootID's dependents up to date, in one
// transaction: while rootID is down, every live service that depends on it
// (directly or through others) and was not yet told of this outage gets
// one dependency.down notice naming rootID and why; once it is up, every
// dependent told of an earlier outage gets one dependency.recovered
// notice. Each notice is written with its row in service_outage_notices,
// so a repeated or concurrent run (the job's retry after a crash) tells
// nobody twice, and a run that fails tells nobody. The cascade job calls
// it; tests call it directly.
func (s *Service) Cascade(ctx context.Context, accountID, rootID string) (*CascadeResult, error) {
	res := &CascadeResult{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		*res = CascadeResult{}
		o := &outage{}
		q := tx.NewSelect().Model(o).Where("service_id = ?", rootID).Where("account_id = ?", accountID)
		q = database.ForUpdate(q)
		if err := q.Scan(ctx); err != nil {
			if database.IsNoRows(err) {
				return nil
			}
			return fmt.Errorf("projects: loading the outage of %s: %w", rootID, err)
		}
		names := map[string]string{}
		name := func(ids []string) error {
			infos, err := s.services.AccountServices(ctx, accountID, ids)
			if err != nil {
				return err
			}
			for _, in := range infos {
				names[in.ID] = notify.ServiceName(in.Label, in.PlanName, "")
			}
			return nil
		}
		var told []outageNotice
		recovered := tx.NewSelect().Model(&told).Where("root_id = ?", rootID).Where("recovered_at IS NULL").Order("service_id")
		if o.down() {
			recovered = recovered.Where("episode_id <> ?", o.EpisodeID)
		}
		if err := recovered.Scan(ctx); err != nil {
			return fmt.Errorf("projects: loading the notices of %s: %w", rootID, err)
		}
		var dependents []ServiceInfo
		if o.down() {
			ids, err := dependentsOf(ctx, tx, accountID, rootID)
			if err != nil {
				return err
			}
			var sent []string
			if err := tx.NewSelect().Model((*outageNotice)(nil)).Column("service_id").Where("episode_id = ?", o.EpisodeID).Scan(ctx, &sent); err != nil {
				return fmt.Errorf("projects: loading the notices of %s: %w", rootID, err)
			}
			ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(sent, id) })
			if len(ids) > 0 {
				infos, err := s.services.AccountServices(ctx, accountID, ids)
				if err != nil {
					return err
				}
				for _, in := range infos {
					if in.Live() {
						dependents = append(dependents, in)
					}
				}
			}
		}
		if len(told) == 0 && len(dependents) == 0 {
			return nil
		}
		ids := []string{rootID}
		for _, n := range told {
			ids = append(ids, n.ServiceID)
		}
		if err := name(ids); err != nil {
			return err
		}
		rootName := names[rootID]
		if rootName == "" {
			rootName = rootID
		}
		now := s.now()
		for _, n := range told {
			r, err := tx.NewUpdate().Model((*outageNotice)(nil)).Set("recovered_at = ?", now).
				Where("episode_id = ?", n.EpisodeID).Where("service_id = ?", n.ServiceID).Where("recovered_at IS NULL").Exec(ctx)
			if err != nil {
				return fmt.Errorf("projects: recording a recovery notice: %w", err)
			}
			if k, _ := r.RowsAffected(); k == 0 {
				continue
			}
			if err := s.tell(ctx, tx, notify.DependencyRecovered, n.EpisodeID, accountID, n.ServiceID, names[n.ServiceID], rootID, rootName, ""); err != nil {
				return err
			}
			res.Recovered = append(res.Recovered, n.ServiceID)
		}
		for _, in := range dependents {
			var inserted []string
			if err := tx.NewInsert().Model(&outageNotice{EpisodeID: o.EpisodeID, ServiceID: in.ID, RootID: rootID, AccountID: accountID, NotifiedAt: now}).
				On("CONFLICT (episode_id, service_id) DO NOTHING").Returning("service_id").Scan(ctx, &inserted); err != nil && !database.IsNoRows(err) {
				return fmt.Errorf("projects: recording a down notice: %w", err)
			}
			if len(inserted) == 0 {
				continue
			}
			if err := s.tell(ctx, tx, notify.DependencyDown, o.EpisodeID, accountID, in.ID, notify.ServiceName(in.Label, in.PlanName, ""), rootID, rootName, o.Reason); err != nil {
				return err
			}
			res.Down = append(res.Down, in.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// tell sends one cascade notice about root to the account's members whose
// role concerns services; its key makes it once per outage and dependent
// even if the notice rows were lost.
func (s *Service) tell(ctx context.Context, tx bun.Tx, typ notify.Type, episodeID, accountID, serviceID, serviceName, rootID, rootName, reason string) error {
	if s.notifier == nil {
		return nil
	}
	data := map[string]any{"service_id": serviceID, "service_name": serviceName, "root_id": rootID, "root_name": rootName,
		"reason": reason, "episode_id": episodeID}
	return s.notifier.Notify(ctx, tx, notify.Event{Type: typ, AccountID: accountID, Data: data, Link: "/services/" + serviceID,
		Key: string(typ) + ":" + episodeID + ":" + serviceID})
}

// dependentsOf returns the account's services that depend on root,
// directly or through others, each once, in id order: a breadth-first
// walk up the edges, one query per level over the depends_on index.
func dependentsOf(ctx context.Context, db bun.IDB, accountID, root string) ([]string, error) {
	seen := map[string]bool{root: true}
	frontier := []string{root}
	var out []string
	for len(frontier) > 0 {
		var next []string
		for chunk := range slices.Chunk(frontier, 500) {
			var ids []string
			if err := db.NewSelect().Model((*Dependency)(nil)).Column("service_id").Where("depends_on_id IN (?)", bun.List(chunk)).
				Where("account_id = ?", accountID).Scan(ctx, &ids); err != nil {
				return nil, fmt.Errorf("projects: loading dependents: %w", err)
			}
			for _, id := range ids {
				if !seen[id] {
					seen[id] = true
					next = append(next, id)
					out = append(out, id)
				}
			}
		}
		frontier = next
	}
	slices.Sort(out)
	return out, nil
}
