package services_test

import (
	"fmt"
	"testing"

	"github.com/ezscale/platform/core/services"
)

// TestIsLive: pending, provisioning, active and suspended services are
// live; terminated, cancelled and failed ones have ended, as has a status
// the status machine does not know. Service.Live agrees.
func TestIsLive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status string
		want   bool
	}{
		{services.StatusPending, true},
		{services.StatusProvisioning, true},
		{services.StatusActive, true},
		{services.StatusSuspended, true},
		{services.StatusTerminated, false},
		{services.StatusCancelled, false},
		{services.StatusFailed, false},
		{"", false},
		{"deleted", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.status), func(t *testing.T) {
			t.Parallel()
			if got := services.IsLive(tc.status); got != tc.want {
				t.Errorf("IsLive(%q) = %v, want %v", tc.status, got, tc.want)
			}
			if got := (&services.Service{Status: tc.status}).Live(); got != tc.want {
				t.Errorf("Service{Status: %q}.Live() = %v, want %v", tc.status, got, tc.want)
			}
		})
	}
}
