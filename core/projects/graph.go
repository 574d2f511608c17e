package projects

import (
	"context"
	"fmt"
	"slices"
)

// Node is a service in the graph.
type Node struct {
	ID     string `json:"id"`
	Label  string `json:"label"`
	Status string `json:"status"`
	// ProjectID is the service's project (nil: none).
	ProjectID *string `json:"project_id"`
	PlanID    string  `json:"plan_id"`
	PlanName  string  `json:"plan_name"`
	// Health is HealthUp, HealthDegraded, HealthDown, HealthPending or
	// HealthEnded (see Health*).
	Health string `json:"health"`
	// HealthReason says why a node is down ("suspended", "failed its http
	// health check (…)") or degraded ("depends on db-1, which is down");
	// "" otherwise.
	HealthReason string `json:"health_reason"`
	// DegradedBy lists the services down that a degraded node depends on,
	// directly or through others, in id order (empty otherwise).
	DegradedBy []string `json:"degraded_by"`
}

// Node health values.
const (
	// HealthUp: live and nothing it depends on is down.
	HealthUp = "up"
	// HealthDegraded: up itself, but a service it depends on (directly or
	// through others) is down.
	HealthDegraded = "degraded"
	// HealthDown: in an outage (suspended, provisioning failed,
	// auto-recovery's check failing), as the cascade alerts record it.
	HealthDown = "down"
	// HealthPending: ordered, not running yet (pending, provisioning).
	HealthPending = "pending"
	// HealthEnded: terminated or cancelled.
	HealthEnded = "ended"
)

// Edge is a dependency in the graph: ServiceID depends on DependsOnID.
type Edge struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id"`
	DependsOnID string `json:"depends_on_id"`
	Type        string `json:"type"`
	Critical    bool   `json:"critical"`
	Note        string `json:"note"`
}

// Graph is the services and dependencies of an account or a project.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
}

// Graph returns the account's dependency graph, or with projectID the
// project's: its services, the dependencies that touch them, and the
// services at their other ends (whose project_id says where they are).
// Services that have ended are nodes only while a dependency touches
// them. Three queries: the services, their projects, the edges. Errors:
// NotFound (the project).
func (s *Service) Graph(ctx context.Context, a Actor, projectID string) (*Graph, error) {
	db := s.db.Conn(ctx)
	if projectID != "" {
		if _, err := s.authorize(ctx, db, a, projectID, Read); err != nil {
			return nil, err
		}
	}
	infos, err := s.services.AccountServices(ctx, a.AccountID, nil)
	if err != nil {
		return nil, err
	}
	var assigned []assignment
	if err := db.NewSelect().Model(&assigned).Column("service_id", "project_id").Where("account_id = ?", a.AccountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("projects: loading the account's projects of services: %w", err)
	}
	projectOf := make(map[string]string, len(assigned))
	for _, as := range assigned {
		projectOf[as.ServiceID] = as.ProjectID
	}
	var deps []Dependency
	if err := db.NewSelect().Model(&deps).Column("id", "service_id", "depends_on_id", "type", "critical", "note").
		Where("account_id = ?", a.AccountID).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("projects: loading the account's dependencies: %w", err)
	}

	var outages []outage
	if err := db.NewSelect().Model(&outages).Column("service_id", "reason").Where("account_id = ?", a.AccountID).Where("causes <> ''").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("projects: loading the account's outages: %w", err)
	}
	health := nodeHealth(infos, outages, deps)

	inScope := func(id string) bool { return projectID == "" || projectOf[id] == projectID }
	shown := make(map[string]bool, len(infos))
	g := &Graph{Nodes: []Node{}, Edges: make([]Edge, 0, len(deps))}
	for _, d := range deps {
		if !inScope(d.ServiceID) && !inScope(d.DependsOnID) {
			continue
		}
		g.Edges = append(g.Edges, Edge{ID: d.ID, ServiceID: d.ServiceID, DependsOnID: d.DependsOnID, Type: d.Type, Critical: d.Critical, Note: d.Note})
		shown[d.ServiceID], shown[d.DependsOnID] = true, true
	}
	g.Nodes = make([]Node, 0, len(infos))
	for _, in := range infos {
		if !shown[in.ID] && (!inScope(in.ID) || !in.Live()) {
			continue
		}
		h := health[in.ID]
		n := Node{ID: in.ID, Label: in.Label, Status: in.Status, PlanID: in.PlanID, PlanName: in.PlanName,
			Health: h.health, HealthReason: h.reason, DegradedBy: h.by}
		if p, ok := projectOf[in.ID]; ok {
			n.ProjectID = &p
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}

type healthOf struct {
	health, reason string
	by             []string
}

// nodeHealth is each service's health: ended or pending by its status;
// down while it has an outage (or is suspended or failed: one from before
// outages were recorded), with the outage's reason; degraded when it is
// live and a service it depends on, directly or through others, is down;
// up otherwise.
func nodeHealth(infos []ServiceInfo, outages []outage, deps []Dependency) map[string]healthOf {
	out := make(map[string]healthOf, len(infos))
	names := make(map[string]string, len(infos))
	down := map[string]string{}
	for _, o := range outages {
		down[o.ServiceID] = o.Reason
	}
	for _, in := range infos {
		names[in.ID] = in.name()
		switch in.Status {
		case "suspended", "failed":
			if _, ok := down[in.ID]; !ok {
				reason := in.Status
				if in.Status == "failed" {
					reason = "provisioning failed"
				}
				down[in.ID] = reason
			}
		}
	}
	dependents := map[string][]string{}
	for _, d := range deps {
		dependents[d.DependsOnID] = append(dependents[d.DependsOnID], d.ServiceID)
	}
	roots := make([]string, 0, len(down))
	for id := range down {
		roots = append(roots, id)
	}
	slices.Sort(roots)
	by := map[string][]string{}
	for _, root := range roots {
		seen := map[string]bool{root: true}
		queue := []string{root}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			for _, m := range dependents[n] {
				if !seen[m] {
					seen[m] = true
					by[m] = append(by[m], root)
					queue = append(queue, m)
				}
			}
		}
	}
	for _, in := range infos {
		var h healthOf
		switch reason, isDown := down[in.ID]; {
		case in.Status == "terminated" || in.Status == "cancelled":
			h.health = HealthEnded
		case isDown:
			h.health, h.reason = HealthDown, reason
		case in.Status == "pending" || in.Status == "provisioning":
			h.health = HealthPending
		case len(by[in.ID]) > 0:
			h.health, h.by = HealthDegraded, by[in.ID]
			root := by[in.ID][0]
			h.reason = fmt.Sprintf("depends on %s, which is down", names[root])
			if len(h.by) > 1 {
				h.reason = fmt.Sprintf("depends on %s and %d more services, which are down", names[root], len(h.by)-1)
			}
		default:
			h.health = HealthUp
		}
		if h.by == nil {
			h.by = []string{}
		}
		out[in.ID] = h
	}
	return out
}
