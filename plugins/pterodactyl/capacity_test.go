package main

import (
	"fmt"
	"testing"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/pterodactyl/fakepterodactyl"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestCreateOnAFullPanelIsCapacity: once the location's nodes have no free
// allocation (or no room), the panel answers a 400 NoViable…Exception; the
// plugin reports it as the retryable Capacity kind, not InvalidInput, so a
// paid order waits for staff to add capacity instead of failing for good.
func TestCreateOnAFullPanelIsCapacity(t *testing.T) {
	t.Parallel()
	b := setup(t, fakepterodactyl.Options{})
	var err error
	created := 0
	for i := range 200 {
		id := fmt.Sprintf("svc-fill-%d", i)
		if _, err = b.p.Create(t.Context(), &pb.CreateRequest{Service: service(id), IdempotencyKey: "create-" + id}); err != nil {
			break
		}
		created++
	}
	if created == 0 || err == nil {
		t.Fatalf("created %d servers, then %v; want some, then a capacity error", created, err)
	}
	if !sdk.IsKind(err, sdk.Capacity) {
		t.Fatalf("Create on a full panel: %v (kind %s), want capacity", err, sdk.KindOf(err))
	}
}

// TestCapacityAnswersOfThePanel: the panel's deployment shortages are
// capacity by their words too (a 400 whose code a proxy rewrote); another
// 400 DisplayException stays InvalidInput.
func TestCapacityAnswersOfThePanel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		detail string
		want   sdk.ErrorKind
	}{
		{"No nodes satisfying the requirements specified for automatic deployment could be found.", sdk.Capacity},
		{"No allocations satisfying the requirements for automatic deployment were found.", sdk.Capacity},
		{"This server is in an invalid state.", sdk.InvalidInput},
	} {
		b := setup(t, fakepterodactyl.Options{})
		b.fake.FailNext("POST /api/application/servers", fault.Failure{Status: 400, Message: tc.detail})
		_, err := b.p.Create(t.Context(), &pb.CreateRequest{Service: service("svc-x"), IdempotencyKey: "create-x"})
		if got := sdk.KindOf(err); got != tc.want {
			t.Errorf("%q: kind %s (%v), want %s", tc.detail, got, err, tc.want)
		}
	}
}
