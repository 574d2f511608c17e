package pluginoption_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/sdk"
)

var decl = sdk.Options{
	sdk.IntOption("memory", "MiB").OnPlan().AtLeast(128),
	sdk.IntOption("os", "OS template").OnPlan().AtOrder().AtLeast(1),
	sdk.StringOption("hostname", "hostname").AtOrder(),
	sdk.PrefixOption("env.", "egg variable").OnPlan().MaxLen(64),
}

// TestViewPassesOnlyDeclaredKeysSetByWhomTheyMayBe: the plugin's view holds
// the add-ons' staff keys under the plan's, and the customer's offered
// choices over the plan's defaults; undeclared keys, customer values of
// staff keys, keys or values the plan does not offer, and staff values of
// customer keys are dropped.
func TestViewPassesOnlyDeclaredKeysSetByWhomTheyMayBe(t *testing.T) {
	t.Parallel()
	got := pluginoption.View(decl, pluginoption.Sources{
		Plan:    map[string]string{"memory": "2048", "os": "1", "docker_image": "x", "hostname": "staff-set", "env.VERSION": "1.20"},
		Offered: pluginoption.Offered{"os": {"1", "2"}, "hostname": {}},
		Addons:  []map[string]string{{"memory": "4096", "env.EXTRA": "1", "swap": "-1"}},
		Customer: map[string]string{
			"os": "2", "hostname": "web1", "memory": "65536", "env.VERSION": "evil", "startup": "sh",
		},
	})
	want := map[string]string{"memory": "2048", "os": "2", "hostname": "web1", "env.VERSION": "1.20", "env.EXTRA": "1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("View (-want +got):\n%s", diff)
	}
	got = pluginoption.View(decl, pluginoption.Sources{
		Plan: map[string]string{"os": "1"}, Offered: pluginoption.Offered{"os": {"1"}}, Customer: map[string]string{"os": "7", "hostname": "web1"},
	})
	if diff := cmp.Diff(map[string]string{"os": "1"}, got); diff != "" {
		t.Errorf("View of choices no longer offered (-want +got):\n%s", diff)
	}
	if got := pluginoption.View(nil, pluginoption.Sources{Plan: map[string]string{"memory": "1"}}); len(got) != 0 {
		t.Errorf("View with no declaration = %v, want nothing", got)
	}
}

// TestCheckOrderNamesEachRefusedKey: each refused customer key is named
// options.<key> with the reason, and an accepted choice adds nothing.
func TestCheckOrderNamesEachRefusedKey(t *testing.T) {
	t.Parallel()
	var errs apperr.Fields
	offered := pluginoption.Offered{"os": {"1", "2"}, "hostname": {}}
	pluginoption.CheckOrder(decl, offered, map[string]string{
		"os": "2", "hostname": "web1", "memory": "999999", "env.X": "1", "swap": "-1", "x": string(make([]byte, 256)),
	}, &errs)
	pluginoption.CheckOrder(decl, pluginoption.Offered{"hostname": {}}, map[string]string{"hostname": string(make([]byte, 256))}, &errs)
	got := map[string]string{}
	for _, f := range errs {
		got[f.Field] = f.Message
	}
	want := map[string]string{
		"options.memory":   "is set by the plan and cannot be chosen",
		"options.env.X":    "is set by the plan and cannot be chosen",
		"options.swap":     "is not an option of this plan (accepted: os, hostname)",
		"options.x":        "is not an option of this plan (accepted: os, hostname)",
		"options.hostname": "must be at most 255 bytes",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckOrder (-want +got):\n%s", diff)
	}
}
