package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/sdk"
)

// TestOptionsDeclareWhoMaySetThem: every option the plugin reads is
// declared; a customer may choose the location, OS template and hostname,
// while the package and the IPv4 count are staff's, on plans.
func TestOptionsDeclareWhoMaySetThem(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, o := range New().Describe().Options {
		got[o.Key] = setBy(o)
	}
	want := map[string]string{
		"package_id": "plan", "hypervisor_group_id": "plan+order", "os_template_id": "plan+order", "ipv4": "plan", "hostname": "order",
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
		"ipv4": "33", "package_id": "0", "hypervisor_group_id": "-1", "hostname": "bad host;rm", "os_template_id": "x",
	} {
		_, err := settings{packageID: 1}.plan(map[string]string{key: value})
		if e, ok := err.(*sdk.Error); !ok || e.Kind != sdk.InvalidInput || e.Field != "plan_options."+key {
			t.Errorf("%s=%q: %v, want InvalidInput naming plan_options.%s", key, value, err, key)
		}
	}
	pl, err := settings{packageID: 1, groupID: 1, osTemplateID: 1, ipv4: 1}.plan(map[string]string{"hostname": "web-1.example.net", "ipv4": "2"})
	if err != nil || pl.hostname != "web-1.example.net" || pl.ipv4 != 2 || pl.packageID != 1 {
		t.Errorf("valid options: %+v, %v", pl, err)
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
