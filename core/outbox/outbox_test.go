package outbox_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/jobs/jobstest"
	"github.com/ezscale/platform/core/outbox"
)

// fakeSender answers by recipient: "ok…" is delivered, "bad…" is a
// permanent failure, "none…" has no notifier to take it, anything else
// fails temporarily.
type fakeSender struct{}

func (fakeSender) Send(_ context.Context, m *outbox.Message) error {
	switch {
	case strings.HasPrefix(m.Recipient, "ok"):
		return nil
	case strings.HasPrefix(m.Recipient, "bad"):
		return outbox.Permanent(errors.New("recipient refused"))
	case strings.HasPrefix(m.Recipient, "none"):
		return errors.Join(errors.New("notifier disabled"), outbox.ErrNoSender)
	}
	return errors.New("relay unreachable")
}

func TestDeliveryOutcomes(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		reg := jobs.NewRegistry(time.Hour)
		ob := outbox.New(db, reg, outbox.Options{Senders: map[string]outbox.Sender{"email": fakeSender{}}})
		engine, err := jobs.New(db, reg, jobstest.Working(4))
		if err != nil {
			t.Fatal(err)
		}
		for _, rcpt := range []string{"ok@example.net", "bad@example.net", "none@example.net", "flaky@example.net"} {
			err := db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
				return ob.Enqueue(ctx, tx, &outbox.Message{Channel: "email", Recipient: rcpt, Template: "t", Category: "security", Subject: "s", BodyText: "b"})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := engine.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = engine.Stop(context.Background()) })

		type outcome struct {
			Status   string
			Attempts int
			Error    string
		}
		want := map[string]outcome{
			"ok@example.net":    {outbox.StatusSent, 1, ""},
			"bad@example.net":   {outbox.StatusFailed, 1, "recipient refused"},
			"none@example.net":  {outbox.StatusPending, 0, "notifier disabled\n" + outbox.ErrNoSender.Error()},
			"flaky@example.net": {outbox.StatusPending, 1, "relay unreachable"},
		}
		deadline := time.Now().Add(60 * time.Second)
		for rcpt, w := range want {
			for {
				msgs, err := ob.ListForRecipient(ctx, rcpt)
				if err != nil || len(msgs) != 1 {
					t.Fatalf("%s: %d messages, %v", rcpt, len(msgs), err)
				}
				m := msgs[0]
				got := outcome{m.Status, m.Attempts, m.LastError}
				if rcpt == "flaky@example.net" && got.Attempts > 1 {
					// The job may already have retried: any number of
					// attempts proves the message is retried, not failed.
					got.Attempts = 1
				}
				if got == w {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %+v, want %+v", rcpt, got, w)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	})
}
