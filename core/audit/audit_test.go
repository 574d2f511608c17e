package audit_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

func appendN(t *testing.T, db *database.DB, n int) {
	t.Helper()
	ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorUser, ActorID: "u1", RequestID: "r1", IP: "127.0.0.1"})
	for i := range n {
		if err := audit.Log(ctx, db, audit.Event{Action: "test.event", AccountID: "a1", Changes: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
}

func verify(t *testing.T, db *database.DB) audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestIntactChainVerifies(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		appendN(t, db, 25)
		rep := verify(t, db)
		if diff := cmp.Diff(audit.Report{Checked: 25, LastSeq: 25, OK: true}, rep); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

// TestAppendOnly: the database itself refuses UPDATE and DELETE.
func TestAppendOnly(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		appendN(t, db, 2)
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, "UPDATE audit_events SET action = 'x' WHERE seq = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("UPDATE was not refused by the trigger: %v", err)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM audit_events WHERE seq = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("DELETE was not refused by the trigger: %v", err)
		}
	})
}

// disableTriggers plays an attacker with direct database access.
func disableTriggers(t *testing.T, db *database.DB) {
	t.Helper()
	ctx := context.Background()
	var stmts []string
	if db.IsSQLite() {
		stmts = []string{"DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"}
	} else {
		stmts = []string{"ALTER TABLE audit_events DISABLE TRIGGER USER"}
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTamperingIsFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tamper  string
		wantSeq int64
	}{
		{"altered row", "UPDATE audit_events SET action = 'auth.login' WHERE seq = 7", 7},
		{"deleted middle row", "DELETE FROM audit_events WHERE seq = 5", 5},
		{"deleted tail", "DELETE FROM audit_events WHERE seq >= 9", 9},
		{"rehashed row without relinking", "UPDATE audit_events SET prev_hash = 'x' WHERE seq = 3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			databasetest.Each(t, func(t *testing.T, db *database.DB) {
				appendN(t, db, 10)
				disableTriggers(t, db)
				if _, err := db.ExecContext(context.Background(), tt.tamper); err != nil {
					t.Fatal(err)
				}
				rep := verify(t, db)
				if rep.OK {
					t.Fatalf("tampering not found: %+v", rep)
				}
				if rep.BadSeq != tt.wantSeq {
					t.Errorf("BadSeq = %d (%s), want %d", rep.BadSeq, rep.Problem, tt.wantSeq)
				}
			})
		})
	}
}

// TestConcurrentAppendsFormOneChain: 100 concurrent writers, one valid chain
// with no gaps.
func TestConcurrentAppendsFormOneChain(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		var wg sync.WaitGroup
		errs := make(chan error, 100)
		for i := range 100 {
			wg.Go(func() {
				ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorUser, ActorID: fmt.Sprint(i)})
				errs <- audit.Log(ctx, db, audit.Event{Action: "test.concurrent"})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rep := verify(t, db)
		if diff := cmp.Diff(audit.Report{Checked: 100, LastSeq: 100, OK: true}, rep); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		for _, a := range []string{"auth.login", "auth.logout", "api_token.create", "auth.login"} {
			if err := audit.Log(ctx, db, audit.Event{Action: a, AccountID: "acc"}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := audit.List(ctx, db, audit.Filter{Action: "auth.", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, r := range got {
			seqs = append(seqs, r.Seq)
		}
		if diff := cmp.Diff([]int64{4, 2, 1}, seqs); diff != "" {
			t.Errorf("prefix filter, newest first (-want +got):\n%s", diff)
		}
		got, err = audit.List(ctx, db, audit.Filter{Action: "auth.login", BeforeSeq: 4, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Seq != 1 {
			t.Errorf("exact filter with cursor: %+v", got)
		}
	})
}
