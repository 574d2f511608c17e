package notify

import (
	"context"
	"testing"
	"time"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/testkit"
)

// TestStreamSlotLeaseIsRenewed: the replica serving a stream keeps its
// slot's lease alive past the first lease, while the slot of a replica
// that died (never renewed) stops counting once its lease ends. The clock
// is driven by the test; the poll loop never ticks on its own.
func TestStreamSlotLeaseIsRenewed(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		reg := jobs.NewRegistry(time.Hour)
		s, err := New(db, reg, Options{StreamMaxPerUser: 1, StreamPollInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		clock := testkit.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		s.now = clock.Now
		t.Cleanup(s.Stop)
		ctx := context.Background()
		refused := func(userID string) {
			t.Helper()
			sub, err := s.Subscribe(ctx, userID)
			if err == nil {
				sub.Close()
				t.Fatalf("%s opened a stream beyond the cap", userID)
			}
			if ae, ok := apperr.As(err); !ok || ae.Code != apperr.RateLimited {
				t.Fatalf("error %v, want RateLimited", err)
			}
		}

		sub, err := s.Subscribe(ctx, "u1")
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		dead := &streamSlot{ID: "dead", UserID: "u2", Replica: "dead", OpenedAt: clock.Now(), ExpiresAt: clock.Now().Add(streamLease)}
		if _, err := db.NewInsert().Model(dead).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		refused("u2")

		for elapsed := time.Duration(0); elapsed <= streamLease; elapsed += streamRenew {
			clock.Add(streamRenew)
			if err := s.hub.renew(ctx); err != nil {
				t.Fatal(err)
			}
		}
		refused("u1")
		other, err := s.Subscribe(ctx, "u2")
		if err != nil {
			t.Fatalf("the dead replica's expired slot still counts: %v", err)
		}
		other.Close()
	})
}
