package notify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/testkit"
)

func nextEvent(t *testing.T, sub *notify.Subscription) notify.StreamEvent {
	t.Helper()
	select {
	case ev, ok := <-sub.C:
		if !ok {
			t.Fatal("subscription closed")
		}
		return ev
	case <-time.After(30 * time.Second):
		t.Fatal("no stream event within 30s")
	}
	return notify.StreamEvent{}
}

func nextNotification(t *testing.T, sub *notify.Subscription) *notify.Notification {
	t.Helper()
	for {
		ev := nextEvent(t, sub)
		if ev.Notification != nil {
			return ev.Notification
		}
	}
}

// TestStreamAcrossReplicas: a notification written by one replica reaches
// a stream held by another, through the database alone.
func TestStreamAcrossReplicas(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		fast := notify.Options{StreamPollInterval: 20 * time.Millisecond}
		writer := setup(t, db, setupOpts{opts: fast})
		reader := setup(t, db, setupOpts{opts: fast})
		ada := createUser(t, db, "ada")
		bob := createUser(t, db, "bob")
		sub, err := reader.svc.Subscribe(context.Background(), ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		writer.notifyTx(t, notify.Event{Type: notify.ServiceProvisioned, UserIDs: []string{bob.ID}, Data: map[string]any{"service_name": "bobs"}})
		writer.notifyTx(t, notify.Event{Type: notify.ServiceProvisioned, UserIDs: []string{ada.ID}, Data: map[string]any{"service_name": "adas"}})
		n := nextNotification(t, sub)
		if n.Title != "adas is ready" || n.UserID != ada.ID {
			t.Fatalf("got %+v", n)
		}
		ev := nextEvent(t, sub)
		if ev.Unread == nil || ev.Unread.Total != 1 {
			t.Fatalf("unread event %+v", ev)
		}
	})
}

// TestStreamLateCommitIsNotLost: on PostgreSQL a transaction that wrote
// first but commits last is still streamed, once, after the earlier
// committed one.
func TestStreamLateCommitIsNotLost(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.Postgres)
	b := setup(t, db, setupOpts{opts: notify.Options{StreamPollInterval: 20 * time.Millisecond}})
	ada := createUser(t, db, "ada")
	ctx := context.Background()
	sub, err := b.svc.Subscribe(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ev := func(name string) notify.Event {
		return notify.Event{Type: notify.ServiceProvisioned, UserIDs: []string{ada.ID}, Data: map[string]any{"service_name": name}}
	}
	slow, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.svc.Notify(ctx, slow, ev("slow")); err != nil {
		t.Fatal(err)
	}
	b.notifyTx(t, ev("quick"))
	// While "slow" is open nothing after it may be streamed (it could
	// still commit below the cursor); commit it and both arrive.
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for len(got) < 2 {
		got[nextNotification(t, sub).Title]++
	}
	if got["slow is ready"] != 1 || got["quick is ready"] != 1 {
		t.Fatalf("streamed %v", got)
	}
}

// TestSlowSubscriberIsDropped: a stream that stops reading is closed
// instead of blocking the others.
func TestSlowSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{opts: notify.Options{StreamPollInterval: 20 * time.Millisecond}})
	ada := createUser(t, db, "ada")
	sub, err := b.svc.Subscribe(context.Background(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// More events than the subscriber's buffer holds.
	err = db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
		for i := range 70 {
			if err := b.svc.Notify(ctx, tx, notify.Event{Type: notify.ServiceProvisioned, UserIDs: []string{ada.ID}, Data: map[string]any{"service_name": itoa(i)}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is read until the buffer is full, so the poller's next send
	// finds no room however the goroutines are scheduled.
	testkit.WaitFor(t, "the subscriber's buffer to fill", func() bool { return len(sub.C) == cap(sub.C) })
	deadline := time.After(testkit.WaitBound)
	for n := 0; ; n++ {
		select {
		case _, ok := <-sub.C:
			if !ok {
				// 70 notifications and an unread count were sent; a
				// dropped stream got fewer.
				if n >= 71 {
					t.Fatalf("closed after all %d events", n)
				}
				return
			}
		case <-deadline:
			t.Fatal("a subscriber that never read was not dropped")
		}
	}
}

// TestStreamCapAcrossReplicas: a user's open streams are capped across
// replicas; one more is refused as RateLimited with a Retry-After, other
// users are not affected, and closing a stream (or a replica stopping)
// frees its place at once. A slot left by a replica that died counts until
// its lease ends, and not after.
func TestStreamCapAcrossReplicas(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		capped := notify.Options{StreamMaxPerUser: 3}
		a := setup(t, db, setupOpts{opts: capped})
		b := setup(t, db, setupOpts{opts: capped})
		ada := createUser(t, db, "ada")
		bob := createUser(t, db, "bob")
		ctx := context.Background()
		subscribe := func(svc *notify.Service, userID string) *notify.Subscription {
			t.Helper()
			sub, err := svc.Subscribe(ctx, userID)
			if err != nil {
				t.Fatalf("subscribing: %v", err)
			}
			t.Cleanup(sub.Close)
			return sub
		}
		refused := func(svc *notify.Service, userID string) {
			t.Helper()
			sub, err := svc.Subscribe(ctx, userID)
			if err == nil {
				sub.Close()
				t.Fatal("a stream beyond the cap was opened")
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Code != apperr.RateLimited || ae.RetryAfter <= 0 {
				t.Fatalf("error %v, want RateLimited with a RetryAfter", err)
			}
		}

		first := subscribe(a.svc, ada.ID)
		subscribe(a.svc, ada.ID)
		subscribe(b.svc, ada.ID)
		refused(a.svc, ada.ID)
		refused(b.svc, ada.ID)
		subscribe(b.svc, bob.ID)

		first.Close()
		subscribe(b.svc, ada.ID)
		refused(a.svc, ada.ID)

		// Replica b stops: its two streams of ada are freed.
		b.svc.Stop()
		subscribe(a.svc, ada.ID)
		subscribe(a.svc, ada.ID)
		refused(a.svc, ada.ID)

		// A replica that died left slots: bob's live ones count...
		now := time.Now().UTC()
		for i, exp := range []time.Time{now.Add(time.Hour), now.Add(time.Hour), now.Add(time.Hour), now.Add(-time.Second)} {
			if _, err := db.ExecContext(ctx, "INSERT INTO notification_streams (id, user_id, replica, opened_at, expires_at) VALUES (?, ?, 'dead', ?, ?)",
				fmt.Sprintf("dead-%d", i), bob.ID, now, exp); err != nil {
				t.Fatal(err)
			}
		}
		refused(a.svc, bob.ID)
		// ...one whose lease ended does not: with two live ones left, bob
		// opens a third.
		if _, err := db.ExecContext(ctx, "DELETE FROM notification_streams WHERE id = 'dead-0'"); err != nil {
			t.Fatal(err)
		}
		subscribe(a.svc, bob.ID)
		refused(a.svc, bob.ID)
	})
}
