package projects

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
)

// Services is how this package reads billing's services. Implementations
// read through the caller's transaction when ctx carries one (the database
// package's ambient transaction), so checks see what the transaction sees.
type Services interface {
	// AccountServices returns the account's services among ids (another
	// account's and unknown ids are absent), or all of them when ids is
	// nil, in id order.
	AccountServices(ctx context.Context, accountID string, ids []string) ([]ServiceInfo, error)
}

// Options tune the service.
type Options struct {
	// MaxProjects bounds an account's projects, archived ones included
	// (default 1000).
	MaxProjects int
	// Now is the clock (nil: the wall clock, UTC).
	Now func() time.Time
	// Jobs, when set, registers the cascade job (the alerts to the
	// dependents of a service that went down) and turns ServiceDown and
	// ServiceUp on.
	Jobs *jobs.Registry
	// Notifier sends the cascade alerts (nil: nobody is told).
	Notifier Notifier
}

// Service is projects and service dependencies. Its methods take the Actor
// the HTTP layer admitted to the account; every object of another account
// is NotFound.
type Service struct {
	db       *database.DB
	services Services
	opts     Options
	jobs     *jobs.Inserter
	notifier Notifier
}

// New returns the service over db, reading services through svc.
func New(db *database.DB, svc Services, opts Options) *Service {
	if opts.MaxProjects <= 0 {
		opts.MaxProjects = 1000
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	s := &Service{db: db, services: svc, opts: opts, notifier: opts.Notifier}
	if opts.Jobs != nil {
		s.jobs = opts.Jobs.Inserter()
		jobs.Add(opts.Jobs, &cascadeWorker{s: s})
	}
	return s
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Actor is the caller as the route table admitted them to an account.
type Actor struct {
	AccountID string
	// Role is the member's role in the account ("" for staff acting as
	// staff).
	Role string
	// Staff is true when the caller acts as staff rather than as a member.
	Staff bool
}

// Access is what an actor wants to do with a project.
type Access int

const (
	// Read sees the project and its services.
	Read Access = iota
	// Write changes the project or moves services in or out of it.
	Write
)

// authorize is the one place that decides whether a may act on project
// id, and loads it (locked for update on PostgreSQL when acc is Write).
// Today every actor the route table admitted to the account may act on
// every project of it; a project of another account, or none, is
// NotFound. Member roles limited to projects are decided here.
func (s *Service) authorize(ctx context.Context, db bun.IDB, a Actor, id string, acc Access) (*Project, error) {
	p := &Project{}
	q := db.NewSelect().Model(p).Where("id = ?", id).Where("account_id = ?", a.AccountID)
	if acc == Write {
		q = database.ForUpdate(q)
	}
	err := q.Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such project")
	}
	if err != nil {
		return nil, fmt.Errorf("projects: loading project %s: %w", id, err)
	}
	return p, nil
}

// authorizeServices applies authorize to the projects of the named
// services (services in no project are the account's, which the route
// table already admitted a to).
func (s *Service) authorizeServices(ctx context.Context, db bun.IDB, a Actor, serviceIDs []string, acc Access) error {
	var projectIDs []string
	err := db.NewSelect().Model((*assignment)(nil)).ColumnExpr("DISTINCT project_id").
		Where("service_id IN (?)", bun.List(serviceIDs)).Where("account_id = ?", a.AccountID).Scan(ctx, &projectIDs)
	if err != nil {
		return fmt.Errorf("projects: loading the projects of services: %w", err)
	}
	for _, id := range projectIDs {
		if _, err := s.authorize(ctx, db, a, id, acc); err != nil {
			return err
		}
	}
	return nil
}

// lockGraph serialises changes to the account's dependency graph: a row
// lock on PostgreSQL held until tx ends (SQLite has one writer).
func lockGraph(ctx context.Context, tx bun.IDB, accountID string, now time.Time) error {
	_, err := tx.NewRaw(`INSERT INTO service_graphs (account_id, version, updated_at) VALUES (?, 1, ?)
		ON CONFLICT (account_id) DO UPDATE SET version = service_graphs.version + 1, updated_at = excluded.updated_at`,
		accountID, now).Exec(ctx)
	if err != nil {
		return fmt.Errorf("projects: locking the service graph of %s: %w", accountID, err)
	}
	return nil
}

// servicesByID loads the account's services named by ids, in the order of
// ids; a missing one (unknown or another account's) is NotFound naming
// field[i] (field alone when single).
func (s *Service) servicesByID(ctx context.Context, accountID string, ids []string, field string, single bool) ([]ServiceInfo, error) {
	infos, err := s.services.AccountServices(ctx, accountID, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]ServiceInfo, len(infos))
	for _, in := range infos {
		if in.AccountID == accountID {
			byID[in.ID] = in
		}
	}
	out := make([]ServiceInfo, len(ids))
	var missing []apperr.FieldError
	for i, id := range ids {
		in, ok := byID[id]
		if !ok {
			f := field
			if !single {
				f = fmt.Sprintf("%s[%d]", field, i)
			}
			missing = append(missing, apperr.FieldError{Field: f, Message: "no such service"})
			continue
		}
		out[i] = in
	}
	if len(missing) > 0 {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "no such service", Fields: missing}
	}
	return out, nil
}
