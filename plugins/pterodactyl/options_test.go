package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/sdk"
)

// TestOptionsDeclareWhoMaySetThem: every option the plugin reads is
// declared, and only the location and the server's name are a customer's
// to choose; the image, startup command, swap, databases and the other
// limits are staff's, on plans.
func TestOptionsDeclareWhoMaySetThem(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, o := range New().Describe().Options {
		got[o.Key] = setBy(o)
	}
	want := map[string]string{
		"nest_id": "plan", "egg_id": "plan", "location_id": "plan+order", "port_range": "plan",
		"memory": "plan", "swap": "plan", "disk": "plan", "io": "plan", "cpu": "plan",
		"databases": "plan", "backups": "plan", "allocations": "plan",
		"docker_image": "plan", "startup": "plan", "name": "plan+order", "env.": "plan",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("declared options (-want +got):\n%s", diff)
	}
	if err := New().Describe().Options.Validate(); err != nil {
		t.Error(err)
	}
}

// TestPlanOptionsOutsideTheirLimitsAreRefused: the plugin itself refuses
// values its declaration does not allow, naming the option.
func TestPlanOptionsOutsideTheirLimitsAreRefused(t *testing.T) {
	t.Parallel()
	for key, value := range map[string]string{
		"swap": "-2", "io": "5", "databases": "500", "allocations": "0", "docker_image": "bad image", "port_range": "1-2-3",
	} {
		_, err := settings{}.plan(map[string]string{key: value})
		if e, ok := err.(*sdk.Error); !ok || e.Kind != sdk.InvalidInput || e.Field != "plan_options."+key {
			t.Errorf("%s=%q: %v, want InvalidInput naming plan_options.%s", key, value, err, key)
		}
	}
}

func setBy(o sdk.Option) string {
	switch {
	case o.Plan && o.Order:
		return "plan+order"
	case o.Order:
		return "order"
	}
	return "plan"
}
