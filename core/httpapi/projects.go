package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/projects"
)

// ProjectsAPI is an account's projects, the dependencies between its
// services and the dependency graph. Any member reads them; owners, admins
// and technical members change them. Another account's projects,
// dependencies and services are 404.
type ProjectsAPI struct {
	Projects *projects.Service
}

// Routes registers the projects routes.
func (m *ProjectsAPI) Routes(s *Server) {
	read := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "GET", Path: acct + path, Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: h})
	}
	write := func(method, path string, idem bool, h HandlerFunc) {
		s.Handle(Route{Method: method, Path: acct + path, Auth: User, Members: operators, StaffRole: accounts.StaffAdmin, Scope: "services:write", Idempotent: idem, Handler: h})
	}
	write("POST", "/projects", true, m.create)
	read("/projects", m.list)
	read("/projects/{project_id}", m.get)
	write("PATCH", "/projects/{project_id}", false, m.update)
	write("POST", "/projects/{project_id}/archive", false, m.archive)
	write("POST", "/projects/{project_id}/restore", false, m.restore)
	write("POST", "/projects/{project_id}/services", true, m.moveIn)
	write("POST", "/projects/{project_id}/services/remove", true, m.moveOut)
	read("/projects/{project_id}/graph", m.projectGraph)

	write("POST", "/dependencies", true, m.addDependency)
	read("/dependencies", m.listDependencies)
	read("/dependencies/{dependency_id}", m.getDependency)
	write("PATCH", "/dependencies/{dependency_id}", false, m.updateDependency)
	write("DELETE", "/dependencies/{dependency_id}", false, m.deleteDependency)
	read("/dependency-graph", m.accountGraph)
}

// actorOf is the caller as the route table admitted them to the path's
// account.
func actorOf(r *http.Request) projects.Actor {
	a := AccountFrom(r.Context())
	if a == nil {
		return projects.Actor{}
	}
	return projects.Actor{AccountID: a.AccountID, Role: a.Role, Staff: a.Staff}
}

func (m *ProjectsAPI) create(w http.ResponseWriter, r *http.Request) error {
	var in projects.ProjectInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Projects.CreateProject(r.Context(), actorOf(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, projectView(p))
}

func (m *ProjectsAPI) list(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, func(after string, limit int) ([]projects.Project, error) {
		return m.Projects.Projects(r.Context(), actorOf(r), projects.ProjectFilter{Archived: r.URL.Query().Get("archived"), After: after, Limit: limit})
	}, projectView, func(v ProjectView) string { return v.ID })
}

func (m *ProjectsAPI) get(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Projects.Project(r.Context(), actorOf(r), mux.Vars(r)["project_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectView(p))
}

func (m *ProjectsAPI) update(w http.ResponseWriter, r *http.Request) error {
	var in projects.ProjectPatch
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Projects.UpdateProject(r.Context(), actorOf(r), mux.Vars(r)["project_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectView(p))
}

func (m *ProjectsAPI) archive(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Projects.ArchiveProject(r.Context(), actorOf(r), mux.Vars(r)["project_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectView(p))
}

func (m *ProjectsAPI) restore(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Projects.RestoreProject(r.Context(), actorOf(r), mux.Vars(r)["project_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, projectView(p))
}

func (m *ProjectsAPI) moveIn(w http.ResponseWriter, r *http.Request) error {
	var in projects.MoveInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	mv, err := m.Projects.MoveServices(r.Context(), actorOf(r), mux.Vars(r)["project_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, moveView(mv))
}

func (m *ProjectsAPI) moveOut(w http.ResponseWriter, r *http.Request) error {
	var in projects.MoveInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	mv, err := m.Projects.RemoveServices(r.Context(), actorOf(r), mux.Vars(r)["project_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, moveView(mv))
}

func (m *ProjectsAPI) projectGraph(w http.ResponseWriter, r *http.Request) error {
	g, err := m.Projects.Graph(r.Context(), actorOf(r), mux.Vars(r)["project_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (m *ProjectsAPI) accountGraph(w http.ResponseWriter, r *http.Request) error {
	g, err := m.Projects.Graph(r.Context(), actorOf(r), "")
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, g)
}

func (m *ProjectsAPI) addDependency(w http.ResponseWriter, r *http.Request) error {
	var in projects.DependencyInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	d, err := m.Projects.AddDependency(r.Context(), actorOf(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (m *ProjectsAPI) listDependencies(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return writePage(w, r, func(after string, limit int) ([]projects.Dependency, error) {
		return m.Projects.Dependencies(r.Context(), actorOf(r), projects.DependencyFilter{
			ServiceID: q.Get("service_id"), DependsOnID: q.Get("depends_on_id"), After: after, Limit: limit})
	}, func(d *projects.Dependency) *projects.Dependency { return d }, func(d *projects.Dependency) string { return d.ID })
}

func (m *ProjectsAPI) getDependency(w http.ResponseWriter, r *http.Request) error {
	d, err := m.Projects.Dependency(r.Context(), actorOf(r), mux.Vars(r)["dependency_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (m *ProjectsAPI) updateDependency(w http.ResponseWriter, r *http.Request) error {
	var in projects.DependencyPatch
	if err := Decode(r, &in); err != nil {
		return err
	}
	d, err := m.Projects.UpdateDependency(r.Context(), actorOf(r), mux.Vars(r)["dependency_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

func (m *ProjectsAPI) deleteDependency(w http.ResponseWriter, r *http.Request) error {
	if err := m.Projects.DeleteDependency(r.Context(), actorOf(r), mux.Vars(r)["dependency_id"]); err != nil {
		return err
	}
	return noContent(w)
}

// ProjectView is a project as the API shows it.
type ProjectView struct {
	*projects.Project
	Archived bool `json:"archived"`
}

func projectView(p *projects.Project) ProjectView {
	return ProjectView{Project: p, Archived: p.Archived()}
}

// MoveView is where a move left the services (project_id null: in no
// project).
type MoveView struct {
	ProjectID  *string  `json:"project_id"`
	ServiceIDs []string `json:"service_ids"`
}

func moveView(mv *projects.Move) MoveView {
	v := MoveView{ServiceIDs: mv.ServiceIDs}
	if mv.ProjectID != "" {
		v.ProjectID = &mv.ProjectID
	}
	return v
}
