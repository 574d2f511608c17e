package support_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/core/testkit"
)

// kbFolder is a knowledge folder on disk whose files' modification times
// the test sets, so a change never depends on the file system's clock.
type kbFolder struct {
	dir  string
	tick time.Time
}

func newKBFolder(t *testing.T, files map[string]string) *kbFolder {
	t.Helper()
	f := &kbFolder{dir: t.TempDir(), tick: t0}
	for name, body := range files {
		f.write(t, name, body)
	}
	return f
}

// write writes one article and moves its modification time forward.
func (f *kbFolder) write(t *testing.T, name, body string) {
	t.Helper()
	p := filepath.Join(f.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	f.tick = f.tick.Add(time.Second)
	if err := os.Chtimes(p, f.tick, f.tick); err != nil {
		t.Fatal(err)
	}
}

func (f *kbFolder) remove(t *testing.T, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(f.dir, filepath.FromSlash(name))); err != nil {
		t.Fatal(err)
	}
}

func searchIDs(t *testing.T, k *support.Knowledge, q string) []string {
	t.Helper()
	got, err := k.Search(q, 3)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, a := range got {
		ids = append(ids, a.ID)
	}
	return ids
}

// TestKnowledgeRefreshFollowsTheFolder: the periodic check picks up an
// article added to the folder (a question is sent it and cites it), an
// edited article's new text, and a removed article's absence, each
// without a restart; an unchanged folder is not indexed again (the
// indexed-at time stays while the checked-at time moves).
func TestKnowledgeRefreshFollowsTheFolder(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		folder := newKBFolder(t, map[string]string{"billing/refunds.md": "# Refunds\n\nA refund is credited to your balance."})
		clock := testkit.NewClock(t0)
		k, err := support.LoadKnowledgeDir(folder.dir, support.KnowledgeOptions{BaseURL: "https://help.example.com/kb", Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k.Close() })
		b := setupWith(t, db, support.Options{}, clock, k)

		// Added.
		folder.write(t, "vps/reboot.md", "# Rebooting a VPS\n\nUse the power menu to reboot the server.")
		if ids := searchIDs(t, k, "reboot"); len(ids) != 0 {
			t.Fatalf("found %v before the check ran", ids)
		}
		clock.Add(time.Minute)
		if changed, err := k.Refresh(); err != nil || !changed {
			t.Fatalf("refresh after an added article: changed %v, %v", changed, err)
		}
		c := b.start(t, "acct-1", "user-1")
		b.assistant.Set("Use the power menu.", []string{"vps/reboot"}, false)
		_, m, err := b.ask(t, "acct-1", "user-1", c.ID, "How do I reboot my VPS?")
		if err != nil {
			t.Fatal(err)
		}
		want := []support.Citation{{ID: "vps/reboot", Title: "Rebooting a VPS", URL: "https://help.example.com/kb/vps/reboot"}}
		if diff := cmp.Diff(want, m.Citations); diff != "" {
			t.Errorf("citations of the added article (-want +got):\n%s", diff)
		}
		added := k.Status()
		if diff := cmp.Diff(support.KnowledgeStatus{Configured: true, Articles: 2, IndexedAt: t0.Add(time.Minute), Skipped: []string{},
			CheckedAt: t0.Add(time.Minute)}, added); diff != "" {
			t.Errorf("status after the add (-want +got):\n%s", diff)
		}

		// Unchanged: checked, not indexed again.
		clock.Add(time.Minute)
		if changed, err := k.Refresh(); err != nil || changed {
			t.Fatalf("refresh of an unchanged folder: changed %v, %v", changed, err)
		}
		if st := k.Status(); !st.IndexedAt.Equal(added.IndexedAt) || !st.CheckedAt.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("unchanged folder: indexed at %v (want %v, no re-index), checked at %v", st.IndexedAt, added.IndexedAt, st.CheckedAt)
		}

		// Edited, to the same size: the modification time tells.
		folder.write(t, "vps/reboot.md", "# Rebooting a VPS\n\nUse the power menu to restart the server.")
		if changed, err := k.Refresh(); err != nil || !changed {
			t.Fatalf("refresh after an edit: changed %v, %v", changed, err)
		}
		if a, ok := k.Article("vps/reboot"); !ok || !strings.Contains(a.Text, "restart the server") {
			t.Errorf("edited article %+v, %v: want the new text", a, ok)
		}
		if ids := searchIDs(t, k, "restart"); !cmp.Equal(ids, []string{"vps/reboot"}) {
			t.Errorf("search for the edited text: %v", ids)
		}

		// Removed.
		folder.remove(t, "vps/reboot.md")
		if changed, err := k.Refresh(); err != nil || !changed {
			t.Fatalf("refresh after a removal: changed %v, %v", changed, err)
		}
		if _, ok := k.Article("vps/reboot"); ok {
			t.Error("the removed article is still indexed")
		}
		if ids := searchIDs(t, k, "reboot restart"); len(ids) != 0 {
			t.Errorf("search found %v after the removal", ids)
		}
	})
}

// brokenFS is a folder some of whose files cannot be read.
type brokenFS struct {
	fstest.MapFS
	mu  sync.Mutex
	bad map[string]bool
}

func (f *brokenFS) Open(name string) (fs.File, error) {
	f.mu.Lock()
	bad := f.bad[name]
	f.mu.Unlock()
	if bad {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("input/output error")}
	}
	return f.MapFS.Open(name)
}

func (f *brokenFS) ReadFile(name string) ([]byte, error) {
	file, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(file)
}

func (f *brokenFS) setBad(name string, bad bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bad[name] = bad
}

// TestKnowledgeSkipsABrokenArticle: an article that cannot be read is
// skipped with a warning naming it, and the rest load; once it can be
// read again the next check indexes it, though its name, size and time
// did not change; until then the check does not index again.
func TestKnowledgeSkipsABrokenArticle(t *testing.T) {
	t.Parallel()
	fsys := &brokenFS{MapFS: fstest.MapFS{
		"refunds.md": {Data: []byte("# Refunds\n\nA refund is credited to your balance.")},
		"broken.md":  {Data: []byte("# Broken\n\nWipe days for game servers.")},
	}, bad: map[string]bool{"broken.md": true}}
	logs := &testkit.LogBuffer{}
	clock := testkit.NewClock(t0)
	k, err := support.LoadKnowledge(fsys, support.KnowledgeOptions{Now: clock.Now, Logger: hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Warn})})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if diff := cmp.Diff(support.KnowledgeStatus{Configured: true, Articles: 1, IndexedAt: t0, Skipped: []string{"broken.md"}, CheckedAt: t0},
		k.Status()); diff != "" {
		t.Errorf("status with a broken article (-want +got):\n%s", diff)
	}
	if !strings.Contains(logs.String(), "broken.md") {
		t.Errorf("no warning names the broken article: %q", logs.String())
	}
	clock.Add(time.Minute)
	if changed, err := k.Refresh(); err != nil || changed {
		t.Fatalf("refresh while the article is still broken: changed %v, %v", changed, err)
	}
	fsys.setBad("broken.md", false)
	if changed, err := k.Refresh(); err != nil || !changed {
		t.Fatalf("refresh once the article is readable: changed %v, %v", changed, err)
	}
	if ids := searchIDs(t, k, "wipe days"); !cmp.Equal(ids, []string{"broken"}) {
		t.Errorf("search for the repaired article: %v", ids)
	}
}

// TestKnowledgeKeepsTheLastGoodIndex: a folder that vanished, or that
// reads as empty, or whose every article fails to read, leaves the index
// in use answering, with the failure in the status; staff's reload
// accepts an emptied folder but not an unreadable one.
func TestKnowledgeKeepsTheLastGoodIndex(t *testing.T) {
	t.Parallel()
	t.Run("vanished", func(t *testing.T) {
		t.Parallel()
		folder := newKBFolder(t, map[string]string{"refunds.md": "# Refunds\n\nA refund is credited to your balance."})
		k, err := support.LoadKnowledgeDir(folder.dir, support.KnowledgeOptions{Now: testkit.NewClock(t0).Now})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		if err := os.RemoveAll(folder.dir); err != nil {
			t.Fatal(err)
		}
		for _, check := range []func() error{func() error { _, err := k.Refresh(); return err }, k.Reload} {
			if err := check(); err == nil {
				t.Error("a vanished folder was refreshed without an error")
			}
		}
		if ids := searchIDs(t, k, "refund"); !cmp.Equal(ids, []string{"refunds"}) {
			t.Errorf("search after the folder vanished: %v, want the last good index", ids)
		}
		if st := k.Status(); st.Articles != 1 || st.Error == "" {
			t.Errorf("status %+v: want the one article and the error", st)
		}
	})
	t.Run("emptied", func(t *testing.T) {
		t.Parallel()
		folder := newKBFolder(t, map[string]string{"refunds.md": "# Refunds\n\nA refund is credited to your balance."})
		k, err := support.LoadKnowledgeDir(folder.dir, support.KnowledgeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		folder.remove(t, "refunds.md")
		if changed, err := k.Refresh(); err == nil || changed || k.Len() != 1 {
			t.Errorf("periodic check of an emptied folder: changed %v, %v, %d articles; want it refused", changed, err, k.Len())
		}
		if err := k.Reload(); err != nil || k.Len() != 0 {
			t.Errorf("reload of an emptied folder: %v, %d articles; want it accepted", err, k.Len())
		}
		if st := k.Status(); st.Error != "" {
			t.Errorf("error %q after an accepted reload", st.Error)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		t.Parallel()
		fsys := &brokenFS{MapFS: fstest.MapFS{"refunds.md": {Data: []byte("# Refunds\n\nA refund.")}}, bad: map[string]bool{}}
		k, err := support.LoadKnowledge(fsys, support.KnowledgeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		fsys.setBad("refunds.md", true)
		if err := k.Reload(); err == nil || k.Len() != 1 {
			t.Errorf("reload while every article fails: %v, %d articles; want the last good index kept", err, k.Len())
		}
	})
}

// TestKnowledgeSearchDuringSwap: searches running while the index is
// rebuilt and swapped, again and again, all answer from a whole index
// (old or new), never an error or nothing. Run with -race.
func TestKnowledgeSearchDuringSwap(t *testing.T) {
	t.Parallel()
	k, err := support.LoadKnowledge(articles, support.KnowledgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := k.Search("refund", 3)
				if err == nil && (len(got) == 0 || got[0].ID != "billing/refunds") {
					err = errors.New("the search found no refunds article")
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 20 {
		if err := k.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestKnowledgeWatchRefreshesOnEveryTick: the watch loop checks the folder
// on each tick it is given, until its context ends.
func TestKnowledgeWatchRefreshesOnEveryTick(t *testing.T) {
	t.Parallel()
	folder := newKBFolder(t, map[string]string{"refunds.md": "# Refunds\n\nA refund is credited to your balance."})
	k, err := support.LoadKnowledgeDir(folder.dir, support.KnowledgeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	done := make(chan struct{})
	go func() {
		defer close(done)
		k.Watch(ctx, ticks)
	}()
	folder.write(t, "vps/reboot.md", "# Rebooting a VPS\n\nUse the power menu.")
	ticks <- t0
	ticks <- t0 // taken once the first tick's check is over
	if k.Len() != 2 {
		t.Errorf("%d articles after a tick, want the added one too", k.Len())
	}
	cancel()
	<-done
}

// TestReloadKnowledgeIsAudited: staff's reload indexes the folder now and
// is audited with its outcome; without a folder it is refused
// (knowledge_off).
func TestReloadKnowledgeIsAudited(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		folder := newKBFolder(t, map[string]string{"refunds.md": "# Refunds\n\nA refund is credited to your balance."})
		clock := testkit.NewClock(t0)
		k, err := support.LoadKnowledgeDir(folder.dir, support.KnowledgeOptions{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k.Close() })
		b := setupWith(t, db, support.Options{}, clock, k)
		folder.write(t, "vps/reboot.md", "# Rebooting a VPS\n\nUse the power menu.")
		clock.Add(time.Minute)
		st, err := b.svc.ReloadKnowledge(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Articles != 2 || !st.IndexedAt.Equal(t0.Add(time.Minute)) {
			t.Errorf("reload answered %+v, want 2 articles indexed now", st)
		}
		if err := os.RemoveAll(folder.dir); err != nil {
			t.Fatal(err)
		}
		_, err = b.svc.ReloadKnowledge(ctx)
		if ae := (*apperr.Error)(nil); !errors.As(err, &ae) || ae.Code != apperr.Unavailable || ae.Reason != "knowledge_unreadable" {
			t.Errorf("reload of a vanished folder: %v, want unavailable/knowledge_unreadable", err)
		}
		evs, err := audit.List(ctx, db, audit.Filter{Action: "support.knowledge.reload"})
		if err != nil {
			t.Fatal(err)
		}
		var results []string
		for _, e := range evs {
			results = append(results, e.Result)
		}
		if diff := cmp.Diff([]string{audit.Success, audit.Failure}, results, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("audit results (-want +got):\n%s", diff)
		}

		none := setupWith(t, db, support.Options{}, clock, nil)
		_, err = none.svc.ReloadKnowledge(ctx)
		if ae := (*apperr.Error)(nil); !errors.As(err, &ae) || ae.Reason != "knowledge_off" {
			t.Errorf("reload without a folder: %v, want knowledge_off", err)
		}
	})
}
