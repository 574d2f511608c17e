package tests

import (
	"net/http"
	"testing"

	"github.com/ezscale/platform/core/database"
)

// TestTaskTypesFollowTheProvisioner: a service lists the task types its
// real provisioner plugin supports, from the capabilities it describes
// (VirtFusion has no snapshots); creating a task of a type listed as
// unsupported is a 422 naming type, and of a supported one succeeds; the
// list of another account's service is a 404.
func TestTaskTypesFollowTheProvisioner(t *testing.T) {
	t.Parallel()
	f := startFakes(t, 1)
	p := startPlatform(t, database.SQLite, f)
	p.credit(t, 10_000)
	base := "/api/v1/accounts/" + p.account
	eve, _ := customer(t, p.c, "eve@example.net")
	for plan, want := range map[string]map[string]bool{
		"vps-small":     {"reboot": true, "snapshot": false, "custom_script": false},
		"minecraft-2gb": {"reboot": true, "snapshot": false, "custom_script": true},
	} {
		svc := p.order(t, plan)
		var list struct {
			Data []struct {
				Type       string `json:"type"`
				Supported  bool   `json:"supported"`
				Capability string `json:"capability"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		p.must(t, http.StatusOK, "GET", base+"/services/"+svc+"/task-types", p.customer, nil, &list)
		if code := p.c.call(t, "GET", base+"/services/"+svc+"/task-types", eve, nil, nil); code != http.StatusNotFound {
			t.Errorf("another customer's GET task-types: %d, want 404", code)
		}
		if len(list.Data) != 4 || list.NextCursor == nil {
			t.Fatalf("%s task types: %+v", plan, list)
		}
		for _, tt := range list.Data {
			if w, ok := want[tt.Type]; ok && w != tt.Supported {
				t.Errorf("%s: %s supported = %v, want %v", plan, tt.Type, tt.Supported, w)
			}
			body := map[string]any{"service_id": svc, "type": tt.Type, "cron": "0 3 * * *"}
			if tt.Type == "custom_script" {
				body["script"] = "uptime"
			}
			var problem struct {
				Code   string `json:"code"`
				Errors []struct {
					Field string `json:"field"`
				} `json:"errors"`
			}
			code := p.c.callProblem(t, "POST", base+"/tasks", p.customer, body, &problem)
			switch {
			case tt.Supported && code != http.StatusCreated:
				t.Errorf("%s: creating a supported %s task: %d %+v", plan, tt.Type, code, problem)
			case !tt.Supported && (code != http.StatusUnprocessableEntity || problem.Code != "not_supported" || len(problem.Errors) != 1 || problem.Errors[0].Field != "type"):
				t.Errorf("%s: creating an unsupported %s task: %d %+v, want 422 not_supported naming type", plan, tt.Type, code, problem)
			}
		}
	}
}
