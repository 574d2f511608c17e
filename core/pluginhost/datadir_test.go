package pluginhost

import (
	"os"
	"path/filepath"
	"testing"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestPluginGetsItsPrivateDataDir: each plugin process is given its own
// data directory, root/<name>, created (or tightened) to 0700, and the same
// one again after a restart.
func TestPluginGetsItsPrivateDataDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	// A directory left with loose modes is made private.
	if err := os.MkdirAll(filepath.Join(root, "beta"), 0o755); err != nil {
		t.Fatal(err)
	}
	b := setup(t, Options{DataDir: root})
	if err := b.host.Start(startCtx(t), []Spec{testSpec("alpha"), testSpec("beta")}); err != nil {
		t.Fatal(err)
	}
	ask := func(name string) string {
		t.Helper()
		n, err := b.host.Notifier(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := n.Deliver(startCtx(t), &pb.DeliverRequest{IdempotencyKey: "k", Recipient: "datadir"})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetProviderMessageId()
	}
	for _, name := range []string{"alpha", "beta"} {
		want := filepath.Join(root, name)
		if got := ask(name); got != want {
			t.Errorf("%s's data directory: %q, want %q", name, got, want)
		}
		fi, err := os.Stat(want)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s's data directory: %v, %v; want mode 0700", name, fi, err)
		}
	}
	if err := b.host.Restart(startCtx(t), "alpha"); err != nil {
		t.Fatal(err)
	}
	if got := ask("alpha"); got != filepath.Join(root, "alpha") {
		t.Errorf("after a restart: %q, want the same directory", got)
	}
}
