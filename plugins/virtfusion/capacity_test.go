package main

import (
	"fmt"
	"testing"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestCreateOnAFullGroupIsCapacity: once no hypervisor of the group has
// room, VirtFusion refuses POST /servers with a 422 saying so; the plugin
// reports the retryable Capacity kind, not InvalidInput, so a paid order
// waits for staff to add capacity instead of failing for good.
func TestCreateOnAFullGroupIsCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var err error
	created := 0
	for i := range 200 {
		id := fmt.Sprintf("svc-fill-%d", i)
		svc := service(id)
		svc.PlanOptions["hypervisor_group_id"] = "2" // the small NVMe group: one hypervisor of 32 cores
		if _, err = b.p.Create(t.Context(), &pb.CreateRequest{Service: svc, IdempotencyKey: "create-" + id}); err != nil {
			break
		}
		created++
	}
	if created == 0 || err == nil {
		t.Fatalf("created %d servers, then %v; want some, then a capacity error", created, err)
	}
	if !sdk.IsKind(err, sdk.Capacity) {
		t.Fatalf("Create on a full group: %v (kind %s), want capacity", err, sdk.KindOf(err))
	}
}

// TestCapacityAnswersOfThePanel: shortage wordings are capacity; another
// validation error stays InvalidInput.
func TestCapacityAnswersOfThePanel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		msg  string
		want sdk.ErrorKind
	}{
		{"No hypervisor in the selected group has enough free resources.", sdk.Capacity},
		{"There are no hypervisors available in this group.", sdk.Capacity},
		{"No IPv4 addresses available.", sdk.Capacity},
		{"The package id field is required.", sdk.InvalidInput},
	} {
		b := setup(t)
		b.fake.FailNext("POST /api/v1/servers", fault.Failure{Status: 422, Message: tc.msg})
		_, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-x"), IdempotencyKey: "create-x"})
		if got := sdk.KindOf(err); got != tc.want {
			t.Errorf("%q: kind %s (%v), want %s", tc.msg, got, err, tc.want)
		}
	}
}
