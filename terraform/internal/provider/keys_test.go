package provider

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOrderKeyIsTheSameForTheSameRequestsInARetriedRun checks what keeps a
// retried apply from ordering twice: a new provider process (a retried
// apply) derives the same keys for the same requests, identical requests
// in one process get distinct keys, and any difference in the body or the
// account gives another key.
func TestOrderKeyIsTheSameForTheSameRequestsInARetriedRun(t *testing.T) {
	t.Parallel()
	body := map[string]any{"plan_id": "vps-small", "cycle": "monthly", "label": "web", "options": map[string]string{"hostname": "a", "os_template_id": "2"}}
	run := func() []string {
		p := &providerData{ordinals: map[string]int{}}
		return []string{
			orderKey("vps", "acc1", body, p),
			orderKey("vps", "acc1", body, p),
			orderKey("vps", "acc1", map[string]any{"plan_id": "vps-small", "cycle": "monthly", "label": "db"}, p),
			orderKey("vps", "acc2", body, p),
			orderKey("game_server", "acc1", body, p),
		}
	}
	first, retried := run(), run()
	if diff := cmp.Diff(first, retried); diff != "" {
		t.Errorf("a retried run derives other keys (-first +retried):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, k := range first {
		if seen[k] {
			t.Errorf("key %s given to two different orders", k)
		}
		seen[k] = true
		if len(k) > 255 {
			t.Errorf("key %s longer than the API accepts", k)
		}
	}
}
