package provider

import (
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

var statusPath = tfjsonpath.New("status")

func knownString(s string) knownvalue.Check { return knownvalue.StringExact(s) }

// waitFor polls cond; the bound is generous (CI machines are loaded), and
// the condition, not the time, is what is tested.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
