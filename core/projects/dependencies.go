package projects

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// MaxNoteLen bounds a dependency's note.
const MaxNoteLen = 500

// DependencyInput records that ServiceID depends on DependsOnID.
type DependencyInput struct {
	ServiceID   string `json:"service_id"`
	DependsOnID string `json:"depends_on_id"`
	// Type is database, storage, network, api or other (the default).
	Type     string `json:"type"`
	Critical bool   `json:"critical"`
	Note     string `json:"note"`
}

// DependencyPatch changes the fields it sets.
type DependencyPatch struct {
	Type     *string `json:"type"`
	Critical *bool   `json:"critical"`
	Note     *string `json:"note"`
}

func checkType(errs *apperr.Fields, t string) {
	if !slices.Contains(Types, t) {
		errs.Add("type", "must be one of %s", strings.Join(Types, ", "))
	}
}

func checkNote(errs *apperr.Fields, n string) {
	if utf8.RuneCountInString(n) > MaxNoteLen {
		errs.Add("note", "must be at most %d characters", MaxNoteLen)
	}
}

// AddDependency records that one service of the account depends on
// another. Errors: Invalid (a missing field, a bad type, a service that
// would depend on itself), NotFound naming service_id or depends_on_id (no
// such service in the account), Conflict service_ended (either has
// ended), dependency_exists, dependency_cycle (depends_on_id names the
// cycle the edge would close: "a → b → c → a").
func (s *Service) AddDependency(ctx context.Context, a Actor, in DependencyInput) (*Dependency, error) {
	if in.Type == "" {
		in.Type = TypeOther
	}
	var errs apperr.Fields
	if in.ServiceID == "" {
		errs.Add("service_id", "is required")
	}
	if in.DependsOnID == "" {
		errs.Add("depends_on_id", "is required")
	}
	if in.ServiceID != "" && in.ServiceID == in.DependsOnID {
		errs.Add("depends_on_id", "must not be the service itself: a service cannot depend on itself")
	}
	checkType(&errs, in.Type)
	checkNote(&errs, in.Note)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	d := &Dependency{ID: newID(), AccountID: a.AccountID, ServiceID: in.ServiceID, DependsOnID: in.DependsOnID, Type: in.Type,
		Critical: in.Critical, Note: in.Note, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// First, so that whatever this transaction reads of the graph no
		// concurrent insert changes before it commits.
		if err := lockGraph(ctx, tx, a.AccountID, now); err != nil {
			return err
		}
		svc, err := s.servicesByID(ctx, a.AccountID, []string{in.ServiceID}, "service_id", true)
		if err != nil {
			return err
		}
		on, err := s.servicesByID(ctx, a.AccountID, []string{in.DependsOnID}, "depends_on_id", true)
		if err != nil {
			return err
		}
		for _, x := range []struct {
			field string
			info  ServiceInfo
		}{{"service_id", svc[0]}, {"depends_on_id", on[0]}} {
			if !x.info.Live() {
				return &apperr.Error{Code: apperr.Conflict, Reason: "service_ended", Message: "a service that has ended takes no new dependencies",
					Fields: []apperr.FieldError{{Field: x.field, Message: fmt.Sprintf("%s (%s) is %s", x.info.name(), x.info.ID, x.info.Status)}}}
			}
		}
		if err := s.authorizeServices(ctx, tx, a, []string{in.ServiceID, in.DependsOnID}, Write); err != nil {
			return err
		}
		exists, err := tx.NewSelect().Model((*Dependency)(nil)).Where("service_id = ?", in.ServiceID).Where("depends_on_id = ?", in.DependsOnID).Exists(ctx)
		if err != nil {
			return fmt.Errorf("projects: looking for the dependency: %w", err)
		}
		if exists {
			return &apperr.Error{Code: apperr.Conflict, Reason: "dependency_exists", Message: "the service already depends on that one",
				Fields: []apperr.FieldError{{Field: "depends_on_id", Message: "is already a dependency of service_id"}}}
		}
		if err := s.refuseCycle(ctx, tx, a.AccountID, in.ServiceID, in.DependsOnID); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(d).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.New(apperr.Conflict, "the service already depends on that one").WithReason("dependency_exists")
			}
			return fmt.Errorf("projects: inserting dependency: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "service.dependency.create", AccountID: a.AccountID, TargetType: "service_dependency", TargetID: d.ID,
			Changes: map[string]any{"service_id": d.ServiceID, "depends_on_id": d.DependsOnID, "type": d.Type, "critical": d.Critical}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

type edge struct {
	From string `bun:"service_id"`
	To   string `bun:"depends_on_id"`
}

// refuseCycle refuses the edge from → to when from is reachable from to,
// naming the shortest such cycle.
func (s *Service) refuseCycle(ctx context.Context, tx bun.IDB, accountID, from, to string) error {
	path, err := shortestPath(ctx, tx, to, from)
	if err != nil {
		return err
	}
	if path == nil {
		return nil
	}
	// The cycle: from → to → … → from.
	cycle := append([]string{from}, path...)
	infos, err := s.services.AccountServices(ctx, accountID, cycle)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, in := range infos {
		names[in.ID] = in.name()
	}
	parts := make([]string, len(cycle))
	for i, id := range cycle {
		parts[i] = id
		if n, ok := names[id]; ok {
			parts[i] = n
		}
	}
	msg := "would form a cycle: " + strings.Join(parts, " → ")
	return &apperr.Error{Code: apperr.Conflict, Reason: "dependency_cycle", Message: "the dependency would form a cycle",
		Fields: []apperr.FieldError{{Field: "depends_on_id", Message: msg}}}
}

// side is one direction of the bidirectional search: the services it has
// reached, each with its neighbour one step back towards where the side
// started, and its last level.
type side struct {
	prev     map[string]string
	dist     map[string]int
	frontier []string
	// column is the edge end the frontier is matched on; next the other.
	column, next string
}

func newSide(start, column, next string) *side {
	return &side{prev: map[string]string{start: ""}, dist: map[string]int{start: 0}, frontier: []string{start}, column: column, next: next}
}

// expand reads the edges leaving (or entering) the frontier, in batches
// over the column's index, and makes the services one step further the new
// frontier.
func (sd *side) expand(ctx context.Context, db bun.IDB) error {
	var next []string
	for chunk := range slices.Chunk(sd.frontier, 500) {
		var edges []edge
		if err := db.NewSelect().Model((*Dependency)(nil)).Column("service_id", "depends_on_id").
			Where("? IN (?)", bun.Ident(sd.column), bun.List(chunk)).Scan(ctx, &edges); err != nil {
			return fmt.Errorf("projects: walking the dependency graph: %w", err)
		}
		for _, e := range edges {
			at, to := e.From, e.To
			if sd.column == "depends_on_id" {
				at, to = e.To, e.From
			}
			if _, seen := sd.prev[to]; seen {
				continue
			}
			sd.prev[to], sd.dist[to] = at, sd.dist[at]+1
			next = append(next, to)
		}
	}
	slices.Sort(next)
	sd.frontier = next
	return nil
}

// shortestPath returns the services of a shortest path from start to goal
// along the dependency edges (both ends included), or nil when goal is not
// reachable from start. A breadth-first search from both ends, a level at
// a time of the side with the smaller frontier, each level one query per
// 500 services over an index: it reads only the edges near the two ends
// rather than everything reachable from start, and stops when the sides
// meet or one of them runs out.
func shortestPath(ctx context.Context, db bun.IDB, start, goal string) ([]string, error) {
	if start == goal {
		return []string{start}, nil
	}
	fwd := newSide(start, "service_id", "depends_on_id")
	bwd := newSide(goal, "depends_on_id", "service_id")
	for len(fwd.frontier) > 0 && len(bwd.frontier) > 0 {
		grow, other := fwd, bwd
		if len(bwd.frontier) < len(fwd.frontier) {
			grow, other = bwd, fwd
		}
		if err := grow.expand(ctx, db); err != nil {
			return nil, err
		}
		meet, best := "", -1
		for _, n := range grow.frontier {
			if d, ok := other.dist[n]; ok && (best < 0 || grow.dist[n]+d < best) {
				meet, best = n, grow.dist[n]+d
			}
		}
		if meet == "" {
			continue
		}
		var path []string
		for n := meet; n != ""; n = fwd.prev[n] {
			path = append(path, n)
		}
		slices.Reverse(path)
		for n := bwd.prev[meet]; n != ""; n = bwd.prev[n] {
			path = append(path, n)
		}
		return path, nil
	}
	return nil, nil
}

// Dependency returns a dependency of the account. Errors: NotFound.
func (s *Service) Dependency(ctx context.Context, a Actor, id string) (*Dependency, error) {
	return s.dependency(ctx, s.db.Conn(ctx), a, id, Read)
}

func (s *Service) dependency(ctx context.Context, db bun.IDB, a Actor, id string, acc Access) (*Dependency, error) {
	d := &Dependency{}
	err := db.NewSelect().Model(d).Where("id = ?", id).Where("account_id = ?", a.AccountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such dependency")
	}
	if err != nil {
		return nil, fmt.Errorf("projects: loading dependency %s: %w", id, err)
	}
	if err := s.authorizeServices(ctx, db, a, []string{d.ServiceID, d.DependsOnID}, acc); err != nil {
		return nil, err
	}
	return d, nil
}

// DependencyFilter selects an account's dependencies.
type DependencyFilter struct {
	// ServiceID keeps the dependencies of that service; DependsOnID those
	// on that service (its dependents).
	ServiceID   string
	DependsOnID string
	After       string
	Limit       int
}

// Dependencies lists the account's dependencies, oldest first.
func (s *Service) Dependencies(ctx context.Context, a Actor, f DependencyFilter) ([]Dependency, error) {
	q := s.db.Conn(ctx).NewSelect().Model((*Dependency)(nil)).Where("account_id = ?", a.AccountID).Order("id").Limit(int64(f.Limit))
	if f.ServiceID != "" {
		q = q.Where("service_id = ?", f.ServiceID)
	}
	if f.DependsOnID != "" {
		q = q.Where("depends_on_id = ?", f.DependsOnID)
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	var out []Dependency
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("projects: listing dependencies: %w", err)
	}
	return out, nil
}

// UpdateDependency changes a dependency's type, critical flag or note.
// Errors: NotFound, Invalid.
func (s *Service) UpdateDependency(ctx context.Context, a Actor, id string, in DependencyPatch) (*Dependency, error) {
	var errs apperr.Fields
	if in.Type != nil {
		checkType(&errs, *in.Type)
	}
	if in.Note != nil {
		checkNote(&errs, *in.Note)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var d *Dependency
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if d, err = s.dependency(ctx, tx, a, id, Write); err != nil {
			return err
		}
		changes := map[string]any{}
		if in.Type != nil && *in.Type != d.Type {
			changes["type"], d.Type = *in.Type, *in.Type
		}
		if in.Critical != nil && *in.Critical != d.Critical {
			changes["critical"], d.Critical = *in.Critical, *in.Critical
		}
		if in.Note != nil && *in.Note != d.Note {
			changes["note"], d.Note = true, *in.Note
		}
		if len(changes) == 0 {
			return nil
		}
		d.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(d).WherePK().Column("type", "critical", "note", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("projects: updating dependency %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "service.dependency.update", AccountID: a.AccountID, TargetType: "service_dependency", TargetID: d.ID, Changes: changes})
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteDependency removes a dependency. Errors: NotFound.
func (s *Service) DeleteDependency(ctx context.Context, a Actor, id string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		d, err := s.dependency(ctx, tx, a, id, Write)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model(d).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("projects: deleting dependency %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "service.dependency.delete", AccountID: a.AccountID, TargetType: "service_dependency", TargetID: d.ID,
			Changes: map[string]any{"service_id": d.ServiceID, "depends_on_id": d.DependsOnID}})
		return err
	})
}
