package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/billing/billingtest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/provisioning/provisioningtest"
	"github.com/ezscale/platform/core/scheduler/schedulertest"
)

// createInvoice inserts an open invoice of the account with one line per
// entry of lines (service id → project id, "" for none).
func createInvoice(t *testing.T, db *database.DB, accountID string, lines ...[2]string) string {
	t.Helper()
	now := time.Now().UTC()
	spec := billingtest.InvoiceSpec{AccountID: accountID, Status: "open", Currency: "EUR", Subtotal: 1000, Total: 1000, DueAt: now, IssuedAt: &now, CreatedAt: now}
	for _, l := range lines {
		spec.Lines = append(spec.Lines, billingtest.InvoiceLine{Description: "Game", ServiceID: l[0], ProjectID: l[1], Amount: 1000})
	}
	id, err := billingtest.Invoice(context.Background(), db, spec)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// createTask makes a reboot task on the service.
func createTask(t *testing.T, db *database.DB, accountID, serviceID string) string {
	t.Helper()
	id, err := schedulertest.Task(context.Background(), db, accountID, serviceID, "reboot", "0 3 * * *")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestListsFilterByProject: the invoices list keeps, with project_id, the
// invoices with a line of the project (none: with a line of no project),
// the account's usage the project's services with their latest sample,
// the tasks list the tasks of the project's services (none: of services
// in no project), and the caller's notifications those about the
// project's services (none: about services in no project); another
// account's project is 404 naming project_id on each.
func TestListsFilterByProject(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url)
		owner, other := tb.newUser(t, "owner"), tb.newUser(t, "other")
		inP, loose := createService(t, tb.app.DB, owner.AccountID), createService(t, tb.app.DB, owner.AccountID)
		base := "/api/v1/accounts/" + owner.AccountID
		c := tb.client
		var p, theirs struct{ ID string }
		c.do("POST", base+"/projects", owner.Token, map[string]any{"name": "Shop"}).want(t, http.StatusCreated).decode(t, &p)
		c.do("POST", "/api/v1/accounts/"+other.AccountID+"/projects", other.Token, map[string]any{"name": "Theirs"}).want(t, http.StatusCreated).decode(t, &theirs)
		c.do("POST", base+"/projects/"+p.ID+"/services", owner.Token, map[string]any{"service_ids": []string{inP}}).want(t, http.StatusOK)

		projectInv := createInvoice(t, tb.app.DB, owner.AccountID, [2]string{inP, p.ID})
		looseInv := createInvoice(t, tb.app.DB, owner.AccountID, [2]string{loose, ""})
		mixedInv := createInvoice(t, tb.app.DB, owner.AccountID, [2]string{inP, p.ID}, [2]string{loose, ""})
		projectTask, looseTask := createTask(t, tb.app.DB, owner.AccountID, inP), createTask(t, tb.app.DB, owner.AccountID, loose)
		for _, svc := range []string{inP, loose} {
			err := tb.app.DB.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
				return tb.app.Notify.Notify(ctx, tx, notify.Event{Type: notify.ServiceSuspended, AccountID: owner.AccountID,
					Data: map[string]any{"service_id": svc, "service_name": "svc " + svc, "reason": "staff"}})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		noticeAbout := func(query string) []string {
			t.Helper()
			var page struct {
				Data []struct {
					Data struct {
						ServiceID string `json:"service_id"`
					} `json:"data"`
				} `json:"data"`
			}
			c.do("GET", "/api/v1/me/notifications?"+query, owner.Token, nil).want(t, http.StatusOK).decode(t, &page)
			ids := []string{}
			for _, n := range page.Data {
				ids = append(ids, n.Data.ServiceID)
			}
			return ids
		}
		if diff := cmp.Diff([]string{inP}, noticeAbout("project_id="+p.ID)); diff != "" {
			t.Errorf("notifications about the project's services (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{loose}, noticeAbout("project_id=none")); diff != "" {
			t.Errorf("notifications about services in no project (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{inP, loose}, noticeAbout(""), cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("notifications unfiltered (-want +got):\n%s", diff)
		}
		prob := c.do("GET", "/api/v1/me/notifications?project_id="+theirs.ID, owner.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		if len(prob.Errors) != 1 || prob.Errors[0].Field != "project_id" {
			t.Errorf("notifications with another account's project: errors %+v, want one naming project_id", prob.Errors)
		}

		listed := func(path string) []string {
			t.Helper()
			var page struct {
				Data []struct{ ID string } `json:"data"`
			}
			c.do("GET", base+path, owner.Token, nil).want(t, http.StatusOK).decode(t, &page)
			ids := []string{}
			for _, x := range page.Data {
				ids = append(ids, x.ID)
			}
			return ids
		}
		byID := cmpopts.SortSlices(func(a, b string) bool { return a < b })
		for _, tc := range []struct {
			path string
			want []string
		}{
			{"/invoices?project_id=" + p.ID, []string{projectInv, mixedInv}},
			{"/invoices?project_id=none", []string{looseInv, mixedInv}},
			{"/invoices", []string{projectInv, looseInv, mixedInv}},
			{"/tasks?project_id=" + p.ID, []string{projectTask}},
			{"/tasks?project_id=none", []string{looseTask}},
			{"/tasks", []string{projectTask, looseTask}},
		} {
			if diff := cmp.Diff(tc.want, listed(tc.path), byID); diff != "" {
				t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
			}
		}
		// The account's usage: each service with its latest sample.
		sampledAt := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i, at := range []time.Time{sampledAt.Add(-5 * time.Minute), sampledAt} {
			if err := provisioningtest.Sample(context.Background(), tb.app.DB, provisioning.UsageSample{ServiceID: inP, SampledAt: at,
				CPUCentipercent: int64(100 * (i + 1)), RAMUsedBytes: 1, RAMTotalBytes: 2, DiskUsedBytes: 3, DiskTotalBytes: 4,
				BandwidthInBytes: 5, BandwidthOutBytes: 6}); err != nil {
				t.Fatal(err)
			}
		}
		type usageRow struct {
			ServiceID string `json:"service_id"`
			Latest    *struct {
				SampledAt time.Time `json:"sampled_at"`
				CPU       int64     `json:"cpu_centipercent"`
			} `json:"latest"`
		}
		usage := func(query string) map[string]string {
			t.Helper()
			var page struct {
				Data []usageRow `json:"data"`
			}
			c.do("GET", base+"/usage"+query, owner.Token, nil).want(t, http.StatusOK).decode(t, &page)
			out := map[string]string{}
			for _, r := range page.Data {
				out[r.ServiceID] = "none yet"
				if r.Latest != nil {
					out[r.ServiceID] = fmt.Sprintf("%s cpu %d", r.Latest.SampledAt.UTC().Format(time.RFC3339), r.Latest.CPU)
				}
			}
			return out
		}
		latest := "2026-03-01T12:00:00Z cpu 200"
		for _, tc := range []struct {
			query string
			want  map[string]string
		}{
			{"?project_id=" + p.ID, map[string]string{inP: latest}},
			{"?project_id=none", map[string]string{loose: "none yet"}},
			{"", map[string]string{inP: latest, loose: "none yet"}},
		} {
			if diff := cmp.Diff(tc.want, usage(tc.query)); diff != "" {
				t.Errorf("GET /usage%s (-want +got):\n%s", tc.query, diff)
			}
		}

		for _, path := range []string{"/invoices", "/tasks", "/services", "/usage"} {
			prob := c.do("GET", base+path+"?project_id="+theirs.ID, owner.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
			if len(prob.Errors) != 1 || prob.Errors[0].Field != "project_id" {
				t.Errorf("GET %s with another account's project: errors %+v, want one naming project_id", path, prob.Errors)
			}
		}
	})
}
