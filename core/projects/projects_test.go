package projects_test

import (
	"testing"

	"github.com/ezscale/platform/core/services"

	"github.com/ezscale/platform/core/testkit"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/projects"
)

// TestProjectLifecycle: a project is created, renamed and edited (names
// unique per account, case aside), archived only once it holds no live
// service, restored; the list shows active, archived or all.
func TestProjectLifecycle(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		p, err := tb.p.CreateProject(tb.ctx, tb.a, projects.ProjectInput{Name: " Web shop ", Colour: "#AABBCC", Icon: "cart"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Web shop" || p.Colour != "#aabbcc" {
			t.Errorf("created %+v", p)
		}
		_, err = tb.p.CreateProject(tb.ctx, tb.a, projects.ProjectInput{Name: "WEB SHOP"})
		testkit.AppErr(t, err, apperr.Conflict, "project_name_taken")
		// Another account may use the name.
		tb.project(t, tb.other, "Web shop")

		_, err = tb.p.CreateProject(tb.ctx, tb.a, projects.ProjectInput{Name: "", Colour: "red", Icon: "Bad Icon"})
		e := testkit.AppErr(t, err, apperr.Invalid, "")
		if diff := cmp.Diff([]string{"name", "colour", "icon"}, fieldNames(e)); diff != "" {
			t.Errorf("invalid fields (-want +got):\n%s", diff)
		}

		name, desc := "Shop", "the storefront"
		p, err = tb.p.UpdateProject(tb.ctx, tb.a, p.ID, projects.ProjectPatch{Name: &name, Description: &desc})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Shop" || p.Description != desc || p.Icon != "cart" {
			t.Errorf("updated %+v", p)
		}

		svc := tb.services(t, tb.a, 2)
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: svc}); err != nil {
			t.Fatal(err)
		}
		_, err = tb.p.ArchiveProject(tb.ctx, tb.a, p.ID)
		e = testkit.AppErr(t, err, apperr.Conflict, "project_not_empty")
		if len(e.Fields) != 2 {
			t.Errorf("refusal names %v, want both services", e.Fields)
		}
		// An ended service stays and does not hold the archive back.
		if err := billingtest.SetServiceStatus(tb.ctx, db, svc[0], services.StatusTerminated); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.p.RemoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: svc[1:]}); err != nil {
			t.Fatal(err)
		}
		if p, err = tb.p.ArchiveProject(tb.ctx, tb.a, p.ID); err != nil || !p.Archived() {
			t.Fatalf("archive: %+v, %v", p, err)
		}
		_, err = tb.p.MoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: svc[1:]})
		testkit.AppErr(t, err, apperr.Conflict, "project_archived")

		tb.project(t, tb.a, "Active")
		list := func(archived string) []string {
			t.Helper()
			ps, err := tb.p.Projects(tb.ctx, tb.a, projects.ProjectFilter{Archived: archived, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
			}
			return names
		}
		for archived, want := range map[string][]string{"": {"Active"}, "true": {"Shop"}, "all": {"Shop", "Active"}} {
			if diff := cmp.Diff(want, list(archived)); diff != "" {
				t.Errorf("archived=%q (-want +got):\n%s", archived, diff)
			}
		}
		if p, err = tb.p.RestoreProject(tb.ctx, tb.a, p.ID); err != nil || p.Archived() {
			t.Fatalf("restore: %+v, %v", p, err)
		}
	})
}

func fieldNames(e *apperr.Error) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

// TestMoveServicesBetweenProjects: a bulk move takes services from
// wherever they are (another project, none) into the project; a service
// is in one project at most; removing puts them in none; a service not in
// the project cannot be removed from it.
func TestMoveServicesBetweenProjects(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 3)
		a, b := tb.project(t, tb.a, "A"), tb.project(t, tb.a, "B")
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, a.ID, projects.MoveInput{ServiceIDs: svc[:2]}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, b.ID, projects.MoveInput{ServiceIDs: svc[1:]}); err != nil {
			t.Fatal(err)
		}
		of, err := tb.p.ProjectsOf(tb.ctx, db.DB, svc)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{svc[0]: a.ID, svc[1]: b.ID, svc[2]: b.ID}, of); diff != "" {
			t.Errorf("projects of the services (-want +got):\n%s", diff)
		}
		_, err = tb.p.RemoveServices(tb.ctx, tb.a, a.ID, projects.MoveInput{ServiceIDs: []string{svc[0], svc[1]}})
		e := testkit.AppErr(t, err, apperr.Invalid, "")
		if diff := cmp.Diff([]string{"service_ids[1]"}, fieldNames(e)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if _, err := tb.p.RemoveServices(tb.ctx, tb.a, a.ID, projects.MoveInput{ServiceIDs: svc[:1]}); err != nil {
			t.Fatal(err)
		}
		if of, _ = tb.p.ProjectsOf(tb.ctx, db.DB, svc[:1]); len(of) != 0 {
			t.Errorf("removed service still in %v", of)
		}
		_, err = tb.p.MoveServices(tb.ctx, tb.a, a.ID, projects.MoveInput{ServiceIDs: []string{svc[0], svc[0]}})
		testkit.AppErr(t, err, apperr.Invalid, "")
		_, err = tb.p.MoveServices(tb.ctx, tb.a, a.ID, projects.MoveInput{})
		testkit.AppErr(t, err, apperr.Invalid, "")
	})
}

// TestServicesFilteredByProject: the account's services listing keeps a
// project's services (ServiceScope through billing's filter), or with
// "none" those in no project; an empty project lists nothing.
func TestServicesFilteredByProject(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 4)
		p, empty := tb.project(t, tb.a, "P"), tb.project(t, tb.a, "Empty")
		if _, err := tb.p.MoveServices(tb.ctx, tb.a, p.ID, projects.MoveInput{ServiceIDs: []string{svc[1], svc[3]}}); err != nil {
			t.Fatal(err)
		}
		listed := func(projectID string) []string {
			t.Helper()
			ids, exclude, err := tb.p.ServiceScope(tb.ctx, tb.a, projectID)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tb.b.Services(tb.ctx, services.Filter{AccountID: tb.a.AccountID, Among: &services.Set{IDs: ids, Exclude: exclude}, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			out := []string{}
			for _, s := range got {
				out = append(out, s.ID)
			}
			return out
		}
		// Newest first.
		for name, tc := range map[string]struct {
			project string
			want    []string
		}{
			"project": {p.ID, []string{svc[3], svc[1]}},
			"none":    {projects.NoProject, []string{svc[2], svc[0]}},
			"empty":   {empty.ID, []string{}},
		} {
			if diff := cmp.Diff(tc.want, listed(tc.project)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", name, diff)
			}
		}
	})
}

// TestAnotherAccountsObjectsAreNotFound (BOLA): a project, service or
// dependency of another account is NotFound wherever it is named, and
// nothing of it changes.
func TestAnotherAccountsObjectsAreNotFound(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		mine := tb.services(t, tb.a, 2)
		theirs := tb.services(t, tb.other, 2)
		theirProject := tb.project(t, tb.other, "Theirs")
		myProject := tb.project(t, tb.a, "Mine")
		if _, err := tb.p.MoveServices(tb.ctx, tb.other, theirProject.ID, projects.MoveInput{ServiceIDs: theirs}); err != nil {
			t.Fatal(err)
		}
		theirDep, err := tb.p.AddDependency(tb.ctx, tb.other, projects.DependencyInput{ServiceID: theirs[0], DependsOnID: theirs[1]})
		if err != nil {
			t.Fatal(err)
		}
		name := "stolen"
		for what, call := range map[string]func() error{
			"get project": func() error { _, err := tb.p.Project(tb.ctx, tb.a, theirProject.ID); return err },
			"update project": func() error {
				_, err := tb.p.UpdateProject(tb.ctx, tb.a, theirProject.ID, projects.ProjectPatch{Name: &name})
				return err
			},
			"archive project": func() error { _, err := tb.p.ArchiveProject(tb.ctx, tb.a, theirProject.ID); return err },
			"move into their project": func() error {
				_, err := tb.p.MoveServices(tb.ctx, tb.a, theirProject.ID, projects.MoveInput{ServiceIDs: mine})
				return err
			},
			"move their service": func() error {
				_, err := tb.p.MoveServices(tb.ctx, tb.a, myProject.ID, projects.MoveInput{ServiceIDs: []string{mine[0], theirs[0]}})
				return err
			},
			"remove their service": func() error {
				_, err := tb.p.RemoveServices(tb.ctx, tb.a, theirProject.ID, projects.MoveInput{ServiceIDs: theirs[:1]})
				return err
			},
			"filter by their project": func() error { _, _, err := tb.p.ServiceScope(tb.ctx, tb.a, theirProject.ID); return err },
			"their project's graph":   func() error { _, err := tb.p.Graph(tb.ctx, tb.a, theirProject.ID); return err },
			"depend on their service": func() error {
				_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: mine[0], DependsOnID: theirs[0]})
				return err
			},
			"their service depends": func() error {
				_, err := tb.p.AddDependency(tb.ctx, tb.a, projects.DependencyInput{ServiceID: theirs[0], DependsOnID: mine[0]})
				return err
			},
			"get their dependency":    func() error { _, err := tb.p.Dependency(tb.ctx, tb.a, theirDep.ID); return err },
			"delete their dependency": func() error { return tb.p.DeleteDependency(tb.ctx, tb.a, theirDep.ID) },
		} {
			if err := call(); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("%s: %v, want not found", what, err)
			}
		}
		_, err = tb.p.MoveServices(tb.ctx, tb.a, myProject.ID, projects.MoveInput{ServiceIDs: []string{mine[0], theirs[0]}})
		if diff := cmp.Diff([]string{"service_ids[1]"}, fieldNames(testkit.AppErr(t, err, apperr.NotFound, ""))); diff != "" {
			t.Errorf("the refusal names (-want +got):\n%s", diff)
		}
		if of, _ := tb.p.ProjectsOf(tb.ctx, db.DB, append(mine, theirs...)); !cmp.Equal(of, map[string]string{theirs[0]: theirProject.ID, theirs[1]: theirProject.ID}) {
			t.Errorf("projects after the refusals: %v", of)
		}
		if p, _ := tb.p.Project(tb.ctx, tb.other, theirProject.ID); p.Name != "Theirs" || p.Archived() {
			t.Errorf("their project changed: %+v", p)
		}
		if deps, _ := tb.p.Dependencies(tb.ctx, tb.a, projects.DependencyFilter{Limit: 10}); len(deps) != 0 {
			t.Errorf("their dependency is listed for us: %+v", deps)
		}
	})
}
