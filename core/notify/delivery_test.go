package notify_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/core/testkit"
)

// TestFailingChannelRetriedWithoutDuplicatingOthers: one recipient's
// email fails three times and is retried (in a job of its own, out of the
// batch) until it goes through; the other recipients' email, the discord
// message and the in-app rows of the same event are delivered once.
func TestFailingChannelRetriedWithoutDuplicatingOthers(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{opts: notify.Options{DiscordPlugin: "discord"}})
		ctx := context.Background()
		flaky := createUser(t, db, "flaky")
		ok1 := createUser(t, db, "ok1")
		ok2 := createUser(t, db, "ok2")
		acct := createAccount(t, db, map[user]string{flaky: "owner", ok1: "admin", ok2: "technical"})
		setPrefs(t, b.svc, flaky, notify.PreferenceChange{Type: notify.ServiceFailed, Channel: notify.ChannelDiscord, Enabled: true})
		if err := b.svc.SetDiscordWebhook(ctx, flaky.ID, "https://discord.com/api/webhooks/123456789012345678/tok"); err != nil {
			t.Fatal(err)
		}
		b.email.failFirst(flaky.Email, 3)
		b.notifyTx(t, notify.Event{Type: notify.ServiceFailed, AccountID: acct, Data: map[string]any{"service_name": "vps-1", "reason": "node down"}})
		b.start(t)
		testkit.WaitFor(t, "every message delivered", func() bool { return pending(t, db) == 0 })

		var ms []outbox.Message
		if err := db.NewSelect().Model(&ms).Order("channel", "recipient").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		type state struct {
			Channel, Recipient, Status string
			Attempts, Calls            int
		}
		calls := b.email.attempts()
		for k, v := range b.discord.attempts() {
			calls[k] = v
		}
		got := make([]state, len(ms))
		for i, m := range ms {
			got[i] = state{m.Channel, m.Recipient, m.Status, m.Attempts, calls[m.ID]}
		}
		hook := "https://discord.com/api/webhooks/123456789012345678/tok"
		want := []state{
			{"discord", hook, "sent", 1, 1},
			{"email", flaky.Email, "sent", 4, 4},
			{"email", ok1.Email, "sent", 1, 1},
			{"email", ok2.Email, "sent", 1, 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("messages (-want +got):\n%s", diff)
		}
		if n := len(b.email.messages()); n != 3 {
			t.Errorf("%d emails delivered, want 3", n)
		}
		if diff := cmp.Diff(map[string]int{flaky.ID: 1, ok1.ID: 1, ok2.ID: 1}, inAppUsers(t, db, notify.ServiceFailed)); diff != "" {
			t.Errorf("in-app rows (-want +got):\n%s", diff)
		}
	})
}

// TestBatchStopsWhenTheProviderFails: after three failures in a row a
// batch stops and is retried later; every message is still delivered
// exactly once in the end.
func TestBatchStopsWhenTheProviderFails(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{})
		var users []user
		for i := range 8 {
			u := createUser(t, db, "u"+itoa(i))
			users = append(users, u)
			if i < 4 {
				b.email.failFirst(u.Email, 1)
			}
		}
		b.notifyTx(t, notify.Event{Type: notify.Announcement, AllUsers: true, Data: map[string]any{"title": "t", "message": "m"}})
		b.start(t)
		testkit.WaitFor(t, "every message delivered", func() bool { return pending(t, db) == 0 })
		sent := map[string]int{}
		for _, m := range b.email.messages() {
			sent[m.Recipient]++
		}
		want := map[string]int{}
		for _, u := range users {
			want[u.Email] = 1
		}
		if diff := cmp.Diff(want, sent); diff != "" {
			t.Errorf("deliveries per recipient (-want +got):\n%s", diff)
		}
	})
}

// TestUnsubscribedUsersReceiveNoMarketingMail: an unsubscribe before the
// announcement keeps the mail from being queued; one after it was queued
// suppresses it at delivery; delivered marketing mail carries one-click
// List-Unsubscribe headers and a working link; unverified addresses get no
// marketing mail.
func TestUnsubscribedUsersReceiveNoMarketingMail(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{})
		ctx := context.Background()
		early := createUser(t, db, "early")
		late := createUser(t, db, "late")
		stays := createUser(t, db, "stays")
		unverified := createUser(t, db, "unverified")
		if err := accountstest.Unverify(ctx, db, unverified.ID); err != nil {
			t.Fatal(err)
		}
		unsubscribe := func(u user) {
			t.Helper()
			link, err := b.svc.UnsubscribeURL(ctx, u.ID, notify.Announcement)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.svc.Unsubscribe(ctx, tokenOf(t, link)); err != nil {
				t.Fatal(err)
			}
		}
		unsubscribe(early)
		b.notifyTx(t, notify.Event{Type: notify.Announcement, AllUsers: true, Data: map[string]any{"title": "Frankfurt", "message": "New region"}})
		queued := map[string]bool{}
		for _, r := range outboxRows(t, db) {
			queued[r.Recipient] = true
		}
		if diff := cmp.Diff(map[string]bool{late.Email: true, stays.Email: true}, queued); diff != "" {
			t.Errorf("queued marketing mail (-want +got):\n%s", diff)
		}
		if n := len(inAppUsers(t, db, notify.Announcement)); n != 4 {
			t.Errorf("%d in-app announcements, want 4 (unsubscribing stops email only)", n)
		}

		unsubscribe(late)
		b.start(t)
		testkit.WaitFor(t, "deliveries settled", func() bool { return pending(t, db) == 0 })

		sent := b.email.messages()
		if len(sent) != 1 || sent[0].Recipient != stays.Email {
			t.Fatalf("sent %+v, want one message to %s", sent, stays.Email)
		}
		for _, r := range outboxRows(t, db) {
			if r.Recipient == late.Email && (r.Status != "failed" || r.LastError != "suppressed: unsubscribed") {
				t.Errorf("late unsubscriber's message: %+v, want failed/suppressed: unsubscribed", r)
			}
		}
		m := sent[0]
		if got := m.Headers["List-Unsubscribe-Post"]; got != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post = %q", got)
		}
		lu := m.Headers["List-Unsubscribe"]
		if !strings.HasPrefix(lu, "<https://billing.example.com/api/v1/unsubscribe?token=") || !strings.HasSuffix(lu, ">") {
			t.Fatalf("List-Unsubscribe = %q", lu)
		}
		link := strings.Trim(lu, "<>")
		for name, body := range map[string]string{"text": m.BodyText, "html": m.BodyHTML} {
			if strings.Contains(body, "unsubscribe.invalid") {
				t.Errorf("%s body still has the placeholder", name)
			}
		}
		if !strings.Contains(m.BodyText, link) {
			t.Errorf("text body lacks the unsubscribe link %s:\n%s", link, m.BodyText)
		}
		if !strings.Contains(m.BodyHTML, strings.ReplaceAll(link, "&", "&amp;")) {
			t.Errorf("html body lacks the unsubscribe link")
		}
		// The header's link works.
		if err := b.svc.Unsubscribe(ctx, tokenOf(t, link)); err != nil {
			t.Fatal(err)
		}
		prefs, err := b.svc.Preferences(ctx, stays.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range prefs {
			if p.Marketing && p.Channel == notify.ChannelEmail && p.Enabled {
				t.Errorf("after one-click unsubscribe %s email is still on", p.Type)
			}
		}
		if err := b.svc.Unsubscribe(ctx, tokenOf(t, link)+"x"); err == nil {
			t.Error("a forged token was accepted")
		}
	})
}

// TestTransactionalMailHasNoUnsubscribeHeaders: only marketing types get
// List-Unsubscribe.
func TestTransactionalMailHasNoUnsubscribeHeaders(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{start: true})
	u := createUser(t, db, "ada")
	b.notifyTx(t, notify.Event{Type: notify.SecurityNewLogin, UserIDs: []string{u.ID}, Data: map[string]any{"ip": "203.0.113.1"}})
	testkit.WaitFor(t, "delivery", func() bool { return len(b.email.messages()) == 1 })
	m := b.email.messages()[0]
	if len(m.Headers) != 0 {
		t.Errorf("headers on a security message: %v", m.Headers)
	}
	if m.Subject != "New sign-in to your account" || !strings.Contains(m.BodyText, "203.0.113.1") {
		t.Errorf("rendered %q:\n%s", m.Subject, m.BodyText)
	}
}

func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}
