package projects

import (
	"context"
	"fmt"
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
}

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
		n := Node{ID: in.ID, Label: in.Label, Status: in.Status, PlanID: in.PlanID, PlanName: in.PlanName}
		if p, ok := projectOf[in.ID]; ok {
			n.ProjectID = &p
		}
		g.Nodes = append(g.Nodes, n)
	}
	return g, nil
}
