package billing_test

import (
	"fmt"
	"testing"

	"github.com/ezscale/platform/core/billing"
)

// TestIsLive: pending, provisioning, active and suspended services are
// live; terminated, cancelled and failed ones have ended, as has a status
// billing does not know. Service.Live agrees.
func TestIsLive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status string
		want   bool
	}{
		{billing.StatusPending, true},
		{billing.StatusProvisioning, true},
		{billing.StatusActive, true},
		{billing.StatusSuspended, true},
		{billing.StatusTerminated, false},
		{billing.StatusCancelled, false},
		{billing.StatusFailed, false},
		{"", false},
		{"deleted", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.status), func(t *testing.T) {
			t.Parallel()
			if got := billing.IsLive(tc.status); got != tc.want {
				t.Errorf("IsLive(%q) = %v, want %v", tc.status, got, tc.want)
			}
			if got := (&billing.Service{Status: tc.status}).Live(); got != tc.want {
				t.Errorf("Service{Status: %q}.Live() = %v, want %v", tc.status, got, tc.want)
			}
		})
	}
}
