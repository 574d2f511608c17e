package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/catalog/catalogtest"
)

// projectsConsole is an in-process core (no plugins, nor jobs) serving the console,
// with a customer whose browser session is set in the tab and whose active
// services are made directly in the database.
type projectsConsole struct {
	ctx     context.Context
	app     *app.App
	c       *core
	base    string
	token   string
	account string
	plan    string
}

func startProjectsConsole(t *testing.T, opts ...func(*config.Config)) *projectsConsole {
	t.Helper()
	ctx := newTab(t)
	a, c := startInProcess(t, opts...)
	// Leave the console first: its notification stream would hold the
	// server open.
	t.Cleanup(func() { _ = chromedp.Do(ctx, chromedp.Navigate("about:blank")) })
	pc := &projectsConsole{ctx: ctx, app: a, c: c, base: c.base}
	const email, password = "lin@example.net", "correct horse battery"
	var signup struct {
		Account struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if code := pc.c.call(t, "POST", "/api/v1/auth/signup", "", map[string]any{"email": email, "password": password}, &signup); code != http.StatusCreated {
		t.Fatalf("signup: %d", code)
	}
	pc.account = signup.Account.ID
	var login struct {
		Token string `json:"token"`
	}
	if code := pc.c.call(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": email, "password": password}, &login); code != http.StatusOK {
		t.Fatalf("login: %d", code)
	}
	pc.token = login.Token
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(c.base+"/api/v1/auth/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: c.base + ck.Path, Path: ck.Path}); err != nil {
			t.Fatal(err)
		}
	}
	if pc.plan, err = catalogtest.Plan(context.Background(), a.DB, "recprov", 1000); err != nil {
		t.Fatal(err)
	}
	return pc
}

// services gives the customer n active services, labelled vps-0 … vps-n-1.
func (pc *projectsConsole) services(t *testing.T, n int) []string {
	t.Helper()
	ids, err := billingtest.Services(context.Background(), pc.app.DB, pc.account, pc.plan, n)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// api calls the API as the customer and fails the test on another status.
func (pc *projectsConsole) api(t *testing.T, want int, method, path string, in, out any) {
	t.Helper()
	if code := pc.c.call(t, method, "/api/v1/accounts/"+pc.account+path, pc.token, in, out); code != want {
		t.Fatalf("%s %s: status %d, want %d", method, path, code, want)
	}
}

// choose picks an option of a select element as a person would.
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); el.value = %q; el.dispatchEvent(new Event('change', {bubbles: true})); return el.value === %q })()`, sel, value, value)
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && !ok {
				err = fmt.Errorf("%s has no option %q", sel, value)
			}
			return err
		}),
	)
}

// rowsOf returns the data-service ids of the rows a list shows.
func rowsOf(t *testing.T, ctx context.Context) []string {
	t.Helper()
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('tr[data-service]')].map(r => r.dataset.service).sort()`))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestConsoleProjects: a customer creates a project in the console, moves
// two of three services into it from the services list, filters the list
// by the project (only those two) and by "no project" (the third), sees
// them on the project page with its billing summary link, and trying to
// archive it is refused with the project_not_empty explanation and the
// live services named; renamed, emptied, it archives, shows among the
// archived projects and is restored. Every page passes axe-core with no CSP
// violation.
func TestConsoleProjects(t *testing.T) {
	t.Parallel()
	pc := startProjectsConsole(t)
	ctx, base := pc.ctx, pc.base
	ids := pc.services(t, 3)

	do(t, ctx, "opening the projects", chromedp.Navigate(base+"/projects"), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	checkPage(t, ctx, "projects-empty")
	do(t, ctx, "creating a project",
		click(`[data-action=new-project]`),
		fill(`form[data-form=new-project] input[name=name]`, "Shop"),
		fill(`form[data-form=new-project] input[name=colour]`, "#FF8800"),
		choose(`#new-project-icon`, "cart"),
		click(`form[data-form=new-project] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`a[data-billing-summary]`)))
	var projects struct {
		Data []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Colour string `json:"colour"`
			Icon   string `json:"icon"`
		} `json:"data"`
	}
	pc.api(t, 200, "GET", "/projects", nil, &projects)
	if len(projects.Data) != 1 || projects.Data[0].Name != "Shop" || projects.Data[0].Colour != "#ff8800" || projects.Data[0].Icon != "cart" {
		t.Fatalf("projects after creating one in the console: %+v", projects.Data)
	}
	shop := projects.Data[0].ID
	if href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a[data-billing-summary]').getAttribute('href')`)); err != nil || href != "/projects/"+shop+"/billing" {
		t.Errorf("the billing summary link is %q (%v), want /projects/%s/billing", href, err, shop)
	}
	checkPage(t, ctx, "project-new")

	// Move two services in from the services in no project.
	do(t, ctx, "moving two services into the project",
		chromedp.Navigate(base+"/services?project=none"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-service]`)),
		click(fmt.Sprintf(`tr[data-service="%s"] input[type=checkbox]`, ids[0])),
		click(fmt.Sprintf(`tr[data-service="%s"] input[type=checkbox]`, ids[1])),
		choose(`#services-move-target`, shop),
		click(`form[data-form=move] button[data-action=move]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-moved]`)))
	if diff := cmp.Diff([]string{ids[2]}, rowsOf(t, ctx)); diff != "" {
		t.Errorf("the services in no project after the move (-want +got):\n%s", diff)
	}
	checkPage(t, ctx, "services-moved")

	// The filter, from the address and from the select.
	do(t, ctx, "filtering by the project", choose(`select[data-filter=project]`, shop),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-service="%s"]`, ids[0]))))
	want := []string{ids[0], ids[1]}
	if diff := cmp.Diff(want, rowsOf(t, ctx)); diff != "" {
		t.Errorf("the services list filtered by the project (-want +got):\n%s", diff)
	}
	if got := text(t, ctx, fmt.Sprintf(`tr[data-service="%s"] [data-project-of]`, ids[1])); got != "Shop" {
		t.Errorf("the project column reads %q, want Shop", got)
	}
	do(t, ctx, "reloading the filtered list", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`tr[data-service]`)))
	if diff := cmp.Diff(want, rowsOf(t, ctx)); diff != "" {
		t.Errorf("the filtered list after a reload (-want +got):\n%s", diff)
	}
	checkPage(t, ctx, "services-filtered")

	// The project page lists them; archiving is refused while they live.
	do(t, ctx, "opening the project", chromedp.Navigate(base+"/projects/"+shop), chromedp.WaitVisible(chromedp.CSS(`tr[data-service]`)))
	if diff := cmp.Diff(want, rowsOf(t, ctx)); diff != "" {
		t.Errorf("the project page's services (-want +got):\n%s", diff)
	}
	// Its usage now: each of its services, none sampled yet.
	do(t, ctx, "the project's usage", chromedp.WaitVisible(chromedp.CSS(`[data-usage-now] tr[data-usage]`)))
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-usage-now] tr[data-usage]')].map(r => r.dataset.usage).sort()`)); err != nil || !cmp.Equal(got, want) {
		t.Errorf("the project's usage lists %v (%v), want %v", got, err, want)
	}
	if got := text(t, ctx, `[data-usage-now]`); !strings.Contains(got, "No sample yet") {
		t.Errorf("the project's usage reads %q, want its services without a sample yet", got)
	}
	do(t, ctx, "archiving a project that holds services", click(`[data-action=archive-project]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-archive-refused=project_not_empty]`)))
	refused := text(t, ctx, `[data-archive-refused]`)
	if !strings.Contains(refused, "still holds services") || !strings.Contains(refused, "vps-0") || !strings.Contains(refused, "vps-1") {
		t.Errorf("the archive refusal reads %q, want the rule and both services named", refused)
	}
	checkPage(t, ctx, "project")

	// Move one out (to no project) from the project page.
	do(t, ctx, "moving a service out of the project",
		click(fmt.Sprintf(`tr[data-service="%s"] input[type=checkbox]`, ids[1])),
		choose(`#move-target`, ""),
		click(`form[data-form=move-out] button[data-action=move]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-moved]`)))
	if diff := cmp.Diff([]string{ids[0]}, rowsOf(t, ctx)); diff != "" {
		t.Errorf("the project's services after moving one out (-want +got):\n%s", diff)
	}

	// The list counts the project's services.
	do(t, ctx, "opening the projects", chromedp.Navigate(base+"/projects"), chromedp.WaitVisible(chromedp.CSS(`tr[data-project] [data-count]`)))
	if got := text(t, ctx, `tr[data-project] [data-count]`); got != "1" {
		t.Errorf("the projects list counts %q services, want 1", got)
	}
	checkPage(t, ctx, "projects")

	// Rename it; empty out, archive, find it among the archived, restore.
	do(t, ctx, "renaming the project", chromedp.Navigate(base+"/projects/"+shop),
		click(`[data-action=edit-project]`), fill(`form[data-form=edit-project] input[name=name]`, "Shop EU"),
		click(`form[data-form=edit-project] button[type=submit]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-action=archive-project]`)))
	if got := text(t, ctx, `h1`); !strings.Contains(got, "Shop EU") {
		t.Errorf("the project's title after renaming reads %q", got)
	}
	do(t, ctx, "moving the last service out and archiving",
		click(fmt.Sprintf(`tr[data-service="%s"] input[type=checkbox]`, ids[0])),
		click(`form[data-form=move-out] button[data-action=move]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-moved]`)),
		click(`[data-action=archive-project]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-archived]`)))
	do(t, ctx, "listing the archived projects", chromedp.Navigate(base+"/projects"), chromedp.WaitVisible(chromedp.CSS(`.empty`)),
		choose(`#projects-archived`, "true"), chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`tr[data-project="%s"]`, shop))))
	do(t, ctx, "restoring", click(fmt.Sprintf(`tr[data-project="%s"] a`, shop)),
		click(`[data-action=restore-project]`), chromedp.WaitVisible(chromedp.CSS(`[data-action=archive-project]`)))
	var p struct {
		Name     string `json:"name"`
		Archived bool   `json:"archived"`
	}
	pc.api(t, 200, "GET", "/projects/"+shop, nil, &p)
	if p.Name != "Shop EU" || p.Archived {
		t.Errorf("the project after renaming, archiving and restoring: %+v", p)
	}
}

// TestConsoleServiceDependencies: on a service's Dependencies tab the
// customer sees what depends on it, adds a dependency (type, critical,
// note), sees one that would close a cycle refused at the service picker
// with the cycle named by the services' labels, and a duplicate refused
// there too, then removes the dependency.
func TestConsoleServiceDependencies(t *testing.T) {
	t.Parallel()
	pc := startProjectsConsole(t)
	ctx, base := pc.ctx, pc.base
	ids := pc.services(t, 4) // vps-0 … vps-3
	// vps-0 depends on vps-1, vps-1 on vps-2.
	pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[0], "depends_on_id": ids[1]}, nil)
	pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[1], "depends_on_id": ids[2], "type": "database", "critical": true}, nil)

	do(t, ctx, "opening vps-2's dependencies", chromedp.Navigate(base+"/services/"+ids[2]+"/dependencies"),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=add-dependency]`)))
	if got := text(t, ctx, `table[data-list=used-by]`); !strings.Contains(got, "vps-1") || !strings.Contains(got, "database") || !strings.Contains(got, "critical") {
		t.Errorf("what depends on vps-2 reads %q, want vps-1 (critical database)", got)
	}
	checkPage(t, ctx, "service-dependencies")

	// A dependency of its own: vps-2 depends on vps-3.
	do(t, ctx, "adding a dependency",
		choose(`form[data-form=add-dependency] select[name=depends_on_id]`, ids[3]),
		choose(`form[data-form=add-dependency] select[name=type]`, "storage"),
		click(`form[data-form=add-dependency] input[name=critical]`),
		fill(`form[data-form=add-dependency] textarea[name=note]`, "backups"),
		click(`button[data-action=add-dependency]`),
		chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`table[data-list=uses] tr[data-target="%s"]`, ids[3]))))
	var deps struct {
		Data []struct {
			DependsOnID string `json:"depends_on_id"`
			Type        string `json:"type"`
			Critical    bool   `json:"critical"`
			Note        string `json:"note"`
		} `json:"data"`
	}
	pc.api(t, 200, "GET", "/dependencies?service_id="+ids[2], nil, &deps)
	type dep = struct {
		DependsOnID string `json:"depends_on_id"`
		Type        string `json:"type"`
		Critical    bool   `json:"critical"`
		Note        string `json:"note"`
	}
	if diff := cmp.Diff([]dep{{ids[3], "storage", true, "backups"}}, []dep(deps.Data)); diff != "" {
		t.Errorf("vps-2's dependencies after adding one (-want +got):\n%s", diff)
	}

	// vps-2 depending on vps-0 closes vps-2 → vps-0 → vps-1 → vps-2.
	do(t, ctx, "adding a dependency that closes a cycle",
		choose(`form[data-form=add-dependency] select[name=depends_on_id]`, ids[0]),
		click(`button[data-action=add-dependency]`),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=add-dependency] [data-error=depends_on_id]`)))
	if got := text(t, ctx, `[data-error=depends_on_id]`); got != "would form a cycle: vps-2 → vps-0 → vps-1 → vps-2" {
		t.Errorf("the cycle refusal at the picker reads %q", got)
	}
	checkPage(t, ctx, "service-dependencies-cycle")

	// The same dependency again is refused at the picker.
	do(t, ctx, "adding a duplicate",
		choose(`form[data-form=add-dependency] select[name=depends_on_id]`, ids[3]),
		click(`button[data-action=add-dependency]`),
		chromedp.WaitVisible(chromedp.CSS(`form[data-form=add-dependency] [data-error=depends_on_id]`)))
	if got := text(t, ctx, `[data-error=depends_on_id]`); !strings.Contains(got, "already a dependency") {
		t.Errorf("the duplicate refusal at the picker reads %q", got)
	}

	do(t, ctx, "removing the dependency", click(`table[data-list=uses] button[data-action=remove-dependency]`),
		chromedp.WaitNotPresent(chromedp.CSS(`table[data-list=uses]`)))
	pc.api(t, 200, "GET", "/dependencies?service_id="+ids[2], nil, &deps)
	if len(deps.Data) != 0 {
		t.Errorf("vps-2 still has dependencies after removing its only one: %+v", deps.Data)
	}
}

// TestConsoleTerminationGuard: cancelling a service another depends on
// shows the dependent the API's 409 named and changes nothing until the
// customer confirms; the confirmation cancels it. Staff terminating such a
// service in the staff console see the same list and confirm the same way.
func TestConsoleTerminationGuard(t *testing.T) {
	t.Parallel()
	pc := startProjectsConsole(t)
	ctx, base := pc.ctx, pc.base
	ids := pc.services(t, 4) // vps-1 depends on vps-0; vps-3 on vps-2
	pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[1], "depends_on_id": ids[0], "type": "database", "critical": true}, nil)
	pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[3], "depends_on_id": ids[2], "type": "api"}, nil)
	status := func(id string) string {
		var s struct {
			Status string `json:"status"`
		}
		pc.api(t, 200, "GET", "/services/"+id, nil, &s)
		return s.Status
	}

	do(t, ctx, "cancelling a service another depends on", chromedp.Navigate(base+"/services/"+ids[0]),
		click(`main button.danger`), click(`main form button[type=submit].danger`),
		chromedp.WaitVisible(chromedp.CSS(`[data-dependents-guard]`)))
	if got := text(t, ctx, `[data-dependents-guard] [data-dependent]`); !strings.Contains(got, "vps-1") || !strings.Contains(got, "critical database") {
		t.Errorf("the guard lists %q, want vps-1 (critical database)", got)
	}
	if got := status(ids[0]); got != "active" {
		t.Fatalf("the service is %s before the confirmation, want active", got)
	}
	checkPage(t, ctx, "service-cancel-guard")
	do(t, ctx, "confirming", click(`[data-dependents-guard] button[data-action=confirm-dependents]`),
		chromedp.WaitVisible(chromedp.CSS(`.section-head [data-status=cancelled]`)))
	if got := status(ids[0]); got != "cancelled" {
		t.Errorf("the service is %s after the confirmation, want cancelled", got)
	}

	// Staff.
	if _, err := pc.app.Accounts.CreateStaff(context.Background(), "ops@example.net", "staff password for tests", "admin"); err != nil {
		t.Fatal(err)
	}
	staff := newTab(t)
	body, _ := json.Marshal(map[string]string{"email": "ops@example.net", "password": "staff password for tests"})
	resp, err := http.Post(base+"/api/v1/auth/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if _, err := chromedp.Call(staff, network.SetCookie, network.SetCookieParams{Name: ck.Name, Value: ck.Value, URL: base + ck.Path, Path: ck.Path}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = chromedp.Do(staff, chromedp.Navigate("about:blank")) })
	row := fmt.Sprintf(`tr[data-service="%s"]`, ids[2])
	do(t, staff, "terminating a service another depends on", chromedp.Navigate(base+"/staff/services?account_id="+pc.account),
		click(row+` button[data-action=terminate]`), click(row+` button[data-action=terminate-confirm]`),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-dependents-guard]`)))
	if got := text(t, staff, row+` [data-dependents-guard] [data-dependent]`); !strings.Contains(got, "vps-3") || !strings.Contains(got, "api dependency") {
		t.Errorf("the staff guard lists %q, want vps-3 (api)", got)
	}
	if got := status(ids[2]); got != "active" {
		t.Fatalf("the service is %s before staff confirm, want active", got)
	}
	checkPage(t, staff, "staff-terminate-guard")
	do(t, staff, "confirming", click(row+` button[data-action=confirm-dependents]`),
		chromedp.WaitVisible(chromedp.CSS(row+` [data-status=terminated]`)))
	if got := status(ids[2]); got != "terminated" {
		t.Errorf("the service is %s after staff confirmed, want terminated", got)
	}
}

// graphNodes returns the ids of the nodes the graph drew (from Cytoscape's
// own registry on its container), once its layout has finished.
func graphNodes(t *testing.T, ctx context.Context) []string {
	t.Helper()
	do(t, ctx, "waiting for the graph's layout", chromedp.WaitVisible(chromedp.CSS(`[data-graph][data-ready=true]`)))
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.querySelector('[data-graph]')._cyreg.cy.nodes().map(n => n.id()).sort()`))
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// clickNode clicks a node of the graph where it is drawn, as a mouse would.
// The graph is scrolled into view first, and the click waits two animation
// frames, so that Cytoscape has seen the scroll (it caches where its
// container is and learns of a scroll from the scroll event).
func clickNode(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(done => {
			document.querySelector('[data-graph]').scrollIntoView({block: 'center'});
			requestAnimationFrame(() => requestAnimationFrame(() => done(true))) })`, chromedp.EvalAwaitPromise)); err != nil {
			return err
		}
		pos, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
			const el = document.querySelector('[data-graph]');
			const r = el.getBoundingClientRect(), p = el._cyreg.cy.getElementById(%q).renderedPosition();
			return [r.left + p.x, r.top + p.y] })()`, id)))
		if err != nil {
			return err
		}
		return chromedp.Do(ctx, chromedp.MouseClickXY(pos[0], pos[1]))
	})
}

// TestConsoleDependencyGraph: the account's graph page draws a node for
// each of the account's services and an edge for each dependency, a
// search highlights the matching service, clicking a node opens its
// service; a project's graph draws the project's services and those at the
// other end of their dependencies.
func TestConsoleDependencyGraph(t *testing.T) {
	t.Parallel()
	pc := startProjectsConsole(t)
	ctx, base := pc.ctx, pc.base
	ids := pc.services(t, 4)
	pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[0], "depends_on_id": ids[1], "type": "database", "critical": true}, nil)
	pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[1], "depends_on_id": ids[2], "type": "network"}, nil)
	want := append([]string(nil), ids...)
	slices.Sort(want)

	do(t, ctx, "opening the graph", chromedp.Navigate(base+"/graph"), chromedp.WaitVisible(chromedp.CSS(`[data-graph]`)))
	if diff := cmp.Diff(want, graphNodes(t, ctx)); diff != "" {
		t.Errorf("the graph's nodes (-want +got):\n%s", diff)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('[data-graph]')._cyreg.cy.edges().length`)); err != nil || n != 2 {
		t.Errorf("the graph draws %d edges (%v), want 2", n, err)
	}
	if got := text(t, ctx, `.legend`); !strings.Contains(got, "active: circle") || !strings.Contains(got, "critical dependency") {
		t.Errorf("the legend reads %q, want the status with its shape and the edge styles", got)
	}
	do(t, ctx, "finding a service", fill(`#graph-search`, "VPS-3"), click(`button[data-action=graph-find]`),
		chromedp.WaitVisible(chromedp.CSS(`[data-graph-found]`)))
	waitJS(t, ctx, "the search's answer", `document.querySelector('[data-graph-found]').textContent.includes('1 service found: vps-3')`)
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.querySelector('[data-graph]')._cyreg.cy.nodes('.match').map(n => n.id())`)); err != nil || !cmp.Equal(got, []string{ids[3]}) {
		t.Errorf("the highlighted nodes are %v (%v), want vps-3's", got, err)
	}
	checkPage(t, ctx, "graph")
	do(t, ctx, "clicking a node", click(`button[data-action=graph-fit]`), clickNode(ids[1]),
		chromedp.WaitVisible(chromedp.CSS(`nav.tabs a[href$="/dependencies"]`)))
	if path, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`)); err != nil || path != "/services/"+ids[1] {
		t.Errorf("clicking vps-1's node opened %q (%v), want /services/%s", path, err, ids[1])
	}

	// vps-2 goes down (suspended): vps-1 and vps-0, which depend on it
	// directly and through vps-1, are drawn degraded, and the list says why.
	staff := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
	if _, err := pc.app.Services.Suspend(staff, ids[2], "abuse", "graph test"); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "reopening the graph", chromedp.Navigate(base+"/graph"), chromedp.WaitVisible(chromedp.CSS(`[data-graph]`)))
	wantDegraded := []string{ids[0], ids[1]}
	slices.Sort(wantDegraded)
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`document.querySelector('[data-graph]')._cyreg.cy.nodes('.degraded').map(n => n.id()).sort()`)); err != nil || !cmp.Equal(got, wantDegraded) {
		t.Errorf("the nodes drawn degraded are %v (%v), want vps-0's and vps-1's", got, err)
	}
	if got := text(t, ctx, `.legend`); !strings.Contains(got, "degraded (a service it depends on is down)") || !strings.Contains(got, "suspended: diamond") {
		t.Errorf("the legend reads %q, want the suspended status and the degraded border", got)
	}

	// A project's graph: vps-1 in the project, its neighbours around it.
	var project struct {
		ID string `json:"id"`
	}
	pc.api(t, 201, "POST", "/projects", map[string]any{"name": "Core"}, &project)
	pc.api(t, 200, "POST", "/projects/"+project.ID+"/services", map[string]any{"service_ids": []string{ids[1]}}, nil)
	do(t, ctx, "opening the project's graph", chromedp.Navigate(base+"/projects/"+project.ID+"/graph"), chromedp.WaitVisible(chromedp.CSS(`[data-graph]`)))
	wantProject := []string{ids[0], ids[1], ids[2]}
	slices.Sort(wantProject)
	if diff := cmp.Diff(wantProject, graphNodes(t, ctx)); diff != "" {
		t.Errorf("the project graph's nodes (-want +got):\n%s", diff)
	}
	if got := text(t, ctx, `h1`); got != "Dependency graph of Core" {
		t.Errorf("the project graph's title reads %q", got)
	}
	checkPage(t, ctx, "project-graph")
}

// TestConsoleDependencyGraph200: an account of 200 services and 199
// dependencies (a tree) draws all of them, force-directed (the layout for
// more than a few dozen services) and layered, with no script error and no
// CSP violation.
func TestConsoleDependencyGraph200(t *testing.T) {
	t.Parallel()
	pc := startProjectsConsole(t)
	ctx, base := pc.ctx, pc.base
	ids := pc.services(t, 200)
	for i := 1; i < len(ids); i++ {
		pc.api(t, 201, "POST", "/dependencies", map[string]any{"service_id": ids[i], "depends_on_id": ids[(i-1)/2], "critical": i%3 == 0}, nil)
	}
	want := append([]string(nil), ids...)
	slices.Sort(want)
	do(t, ctx, "opening the graph", chromedp.Navigate(base+"/graph"), chromedp.WaitVisible(chromedp.CSS(`[data-graph]`)))
	if diff := cmp.Diff(want, graphNodes(t, ctx)); diff != "" {
		t.Errorf("the graph's nodes (-want +got):\n%s", diff)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('[data-graph]')._cyreg.cy.edges().length`)); err != nil || n != 199 {
		t.Errorf("the graph draws %d edges (%v), want 199", n, err)
	}
	checkPage(t, ctx, "graph-200")
	do(t, ctx, "the graph drawn force-directed", chromedp.WaitVisible(chromedp.CSS(`[data-graph][data-layout=cose]`)))
	do(t, ctx, "the layered layout", choose(`#graph-layout`, "breadthfirst"), chromedp.WaitVisible(chromedp.CSS(`[data-graph][data-layout=breadthfirst][data-ready=true]`)))
	if diff := cmp.Diff(want, graphNodes(t, ctx)); diff != "" {
		t.Errorf("the layered graph's nodes (-want +got):\n%s", diff)
	}
	checkPage(t, ctx, "graph-200-layered")
}
