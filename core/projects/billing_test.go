package projects_test

import (
	"context"
	"testing"

	"github.com/ezscale/platform/core/services"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/projects"
)

// TestServicesOfReadsTheAccountsServices: projects reads an account's
// services through core/services' facts: among the ids asked for only
// the account's own (another account's and unknown ids are absent), every
// one of them when no ids are given, none for an empty list, in id order,
// with each service's label, status and plan.
func TestServicesOfReadsTheAccountsServices(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		mine := tb.services(t, tb.a, 3)
		theirs := tb.services(t, tb.other, 1)
		plan, err := tb.cat.Plan(tb.ctx, tb.plan)
		if err != nil {
			t.Fatal(err)
		}
		info := func(i int) projects.ServiceInfo {
			return projects.ServiceInfo{ID: mine[i], AccountID: tb.a.AccountID, Label: []string{"vps-0", "vps-1", "vps-2"}[i],
				Status: "active", PlanID: tb.plan, PlanName: plan.Name}
		}
		svc := projects.ServicesOf(tb.svcs, db)

		for _, tc := range []struct {
			name string
			ids  []string
			want []projects.ServiceInfo
		}{
			{"all", nil, []projects.ServiceInfo{info(0), info(1), info(2)}},
			{"among ids", []string{mine[2], theirs[0], "00000000-0000-0000-0000-000000000000", mine[0]}, []projects.ServiceInfo{info(0), info(2)}},
			{"none", []string{}, []projects.ServiceInfo{}},
		} {
			got, err := svc.AccountServices(tb.ctx, tb.a.AccountID, tc.ids)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, diff)
			}
		}
	})
}

// TestServiceStatusChangedStartsAndEndsOutages: billing's status changes,
// through the hook app registers, start an outage when a service's
// provisioning fails (naming billing's last error) and end it when the
// service is active again; the dependents are told each once.
func TestServiceStatusChangedStartsAndEndsOutages(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		svc := tb.services(t, tb.a, 2)
		root, dependent := svc[0], svc[1]
		tb.depend(t, dependent, root)

		change := func(status, lastError string) {
			t.Helper()
			err := db.Tx(tb.ctx, func(ctx context.Context, tx bun.Tx) error {
				return tb.p.ServiceStatusChanged(ctx, tx, &services.Service{ID: root, AccountID: tb.a.AccountID, Status: status, LastError: lastError}, services.StatusProvisioning)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		change(services.StatusFailed, "no room on the node")
		if diff := cmp.Diff(notices(notify.DependencyDown, root, "provisioning failed: no room on the node", dependent), tb.cascade(t, root)); diff != "" {
			t.Errorf("down notices (-want +got):\n%s", diff)
		}
		change(services.StatusActive, "")
		if diff := cmp.Diff(notices(notify.DependencyRecovered, root, "", dependent), tb.cascade(t, root)); diff != "" {
			t.Errorf("recovery notices (-want +got):\n%s", diff)
		}
	})
}
