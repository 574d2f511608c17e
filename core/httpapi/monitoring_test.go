package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/monitoring"
)

// TestMonitoringRoutes: a game service's monitor settings are set by an
// operator of its account (refused naming the field when malformed; 404 for
// another account), read back, shown in its summary and in the staff list;
// with monitoring off, setting them is 422 monitoring_off.
func TestMonitoringRoutes(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url, func(c *config.Config) { c.Monitoring.Plugins = []string{"battlemetrics"} })
		owner, outsider := tb.newUser(t, "gamer"), tb.newUser(t, "outsider")
		staff := tb.newStaff(t, "support")
		svc := billedService(t, tb.app.DB, owner.AccountID, "Rust", "monthly", 1000, time.Now().AddDate(0, 1, 0))
		path := "/api/v1/accounts/" + owner.AccountID + "/services/" + svc + "/monitoring"

		var sum monitoring.Summary
		tb.client.do("GET", path, owner.Token, nil).want(t, http.StatusOK).decode(t, &sum)
		if sum.Monitored {
			t.Errorf("a service without settings is monitored: %+v", sum)
		}
		tb.client.do("PUT", path+"/settings", owner.Token, map[string]any{"address": "https://x", "port": 0}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("PUT", "/api/v1/accounts/"+outsider.AccountID+"/services/"+svc+"/monitoring/settings", outsider.Token,
			map[string]any{"address": "203.0.113.10", "port": 28015}).wantProblem(t, http.StatusNotFound, "not_found")

		var st monitoring.Settings
		tb.client.do("PUT", path+"/settings", owner.Token, map[string]any{"address": "203.0.113.10", "port": 28015, "game": "rust",
			"listing_ids": map[string]string{"battlemetrics": "4729828"}}).want(t, http.StatusOK).decode(t, &st)
		want := monitoring.Settings{Enabled: true, Address: "203.0.113.10", Port: 28015, Game: "rust", Manual: true,
			ListingIDs: map[string]string{"battlemetrics": "4729828"}, Plugins: []string{"battlemetrics"}}
		if diff := cmp.Diff(want, st); diff != "" {
			t.Errorf("settings (-want +got):\n%s", diff)
		}
		tb.client.do("GET", path+"/settings", owner.Token, nil).want(t, http.StatusOK)
		tb.client.do("GET", path+"?range=30d", owner.Token, nil).want(t, http.StatusOK).decode(t, &sum)
		if !sum.Monitored || len(sum.Listings) != 1 || sum.Range != "30d" {
			t.Errorf("summary %+v", sum)
		}
		tb.client.do("GET", path+"?range=1y", owner.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")

		var list struct {
			Data []monitoring.Monitor `json:"data"`
		}
		tb.client.do("GET", "/api/v1/admin/monitoring/servers?limit=10", staff.Token, nil).want(t, http.StatusOK).decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].ServiceID != svc || list.Data[0].ListingID != "4729828" {
			t.Errorf("staff list %+v", list.Data)
		}
		if n := tb.count(t, "audit_events", "action = ?", "monitoring.settings.set"); n != 1 {
			t.Errorf("%d audit events, want 1", n)
		}

		off := startApp(t, d, databasetest.URL(t, d))
		o := off.newUser(t, "off")
		svc2 := billedService(t, off.app.DB, o.AccountID, "Rust", "monthly", 1000, time.Now().AddDate(0, 1, 0))
		off.client.do("PUT", "/api/v1/accounts/"+o.AccountID+"/services/"+svc2+"/monitoring/settings", o.Token,
			map[string]any{"address": "203.0.113.10", "port": 28015}).wantProblem(t, http.StatusUnprocessableEntity, "monitoring_off")
	})
}
