package notify_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
)

// TestFailingChannelRetriedWithoutDuplicatingOthers: email fails three
// times and is retried until it goes through; the discord message and the
// in-app row of the same event are delivered once.
func TestFailingChannelRetriedWithoutDuplicatingOthers(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{opts: notify.Options{DiscordPlugin: "discord"}})
		ctx := context.Background()
		u := createUser(t, db, "flaky")
		acct := createAccount(t, db, map[user]string{u: "owner"})
		setPrefs(t, b.svc, u, notify.PreferenceChange{Type: notify.ServiceFailed, Channel: notify.ChannelDiscord, Enabled: true})
		if err := b.svc.SetDiscordWebhook(ctx, u.ID, "https://discord.com/api/webhooks/123456789012345678/tok"); err != nil {
			t.Fatal(err)
		}
		b.email.failFirst(u.Email, 3)
		b.notifyTx(t, notify.Event{Type: notify.ServiceFailed, AccountID: acct, Data: map[string]any{"service_name": "vps-1", "reason": "node down"}})
		b.start(t)
		waitFor(t, "every message delivered", func() bool { return pending(t, db) == 0 })

		var ms []outbox.Message
		if err := db.NewSelect().Model(&ms).Order("channel").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(ms) != 2 {
			t.Fatalf("%d messages, want 2", len(ms))
		}
		discordMsg, emailMsg := ms[0], ms[1]
		type state struct {
			Status   string
			Attempts int
		}
		if diff := cmp.Diff([]state{{"sent", 1}, {"sent", 4}}, []state{{discordMsg.Status, discordMsg.Attempts}, {emailMsg.Status, emailMsg.Attempts}}); diff != "" {
			t.Errorf("discord, email states (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{emailMsg.ID: 4}, b.email.attempts()); diff != "" {
			t.Errorf("email sender calls (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{discordMsg.ID: 1}, b.discord.attempts()); diff != "" {
			t.Errorf("discord sender calls (-want +got):\n%s", diff)
		}
		if n := len(b.email.messages()); n != 1 {
			t.Errorf("email delivered %d times, want 1", n)
		}
		if diff := cmp.Diff(map[string]int{u.ID: 1}, inAppUsers(t, db, notify.ServiceFailed)); diff != "" {
			t.Errorf("in-app rows (-want +got):\n%s", diff)
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
		if _, err := db.ExecContext(ctx, "UPDATE users SET email_verified_at = NULL WHERE id = ?", unverified.ID); err != nil {
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
		waitFor(t, "deliveries settled", func() bool { return pending(t, db) == 0 })

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
	waitFor(t, "delivery", func() bool { return len(b.email.messages()) == 1 })
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
