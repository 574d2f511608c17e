package notify_test

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
)

var invoiceData = map[string]any{"invoice_id": "inv-1", "number": "INV-1", "total": int64(2847), "currency": "USD", "due_date": "2026-03-01"}

// TestPreferencesHonouredPerChannel: each member gets the event on exactly
// the channels they want; roles route billing events; security messages
// ignore attempts to opt out.
func TestPreferencesHonouredPerChannel(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{opts: notify.Options{DiscordPlugin: "discord"}})
		ctx := context.Background()
		dflt := createUser(t, db, "default")
		noMail := createUser(t, db, "nomail")
		noInApp := createUser(t, db, "noinapp")
		withDiscord := createUser(t, db, "discord")
		tech := createUser(t, db, "tech")
		acct := createAccount(t, db, map[user]string{dflt: "owner", noMail: "billing", noInApp: "admin", withDiscord: "billing", tech: "technical"})

		setPrefs(t, b.svc, noMail, notify.PreferenceChange{Type: notify.InvoiceIssued, Channel: notify.ChannelEmail, Enabled: false})
		setPrefs(t, b.svc, noInApp, notify.PreferenceChange{Type: notify.InvoiceIssued, Channel: notify.ChannelInApp, Enabled: false})
		setPrefs(t, b.svc, withDiscord, notify.PreferenceChange{Type: notify.InvoiceIssued, Channel: notify.ChannelDiscord, Enabled: true})
		if err := b.svc.SetDiscordWebhook(ctx, withDiscord.ID, "https://discord.com/api/webhooks/123456789012345678/tok"); err != nil {
			t.Fatal(err)
		}
		// Another type's choice does not leak into this one.
		setPrefs(t, b.svc, dflt, notify.PreferenceChange{Type: notify.InvoicePaid, Channel: notify.ChannelEmail, Enabled: false})

		res := b.notifyTx(t, notify.Event{Type: notify.InvoiceIssued, AccountID: acct, Data: invoiceData, Link: "/billing/invoices/inv-1"})
		if diff := cmp.Diff(&notify.Result{InApp: 3, Messages: map[notify.Channel]int{notify.ChannelEmail: 3, notify.ChannelDiscord: 1}}, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		wantInApp := map[string]int{dflt.ID: 1, noMail.ID: 1, withDiscord.ID: 1}
		if diff := cmp.Diff(wantInApp, inAppUsers(t, db, notify.InvoiceIssued)); diff != "" {
			t.Errorf("in-app recipients (-want +got):\n%s", diff)
		}
		want := []outboxRow{
			{UserID: withDiscord.ID, Channel: "discord", Recipient: "https://discord.com/api/webhooks/123456789012345678/tok", Template: "invoice.issued", Status: "pending"},
			{UserID: dflt.ID, Channel: "email", Recipient: dflt.Email, Template: "invoice.issued", Status: "pending"},
			{UserID: withDiscord.ID, Channel: "email", Recipient: withDiscord.Email, Template: "invoice.issued", Status: "pending"},
			{UserID: noInApp.ID, Channel: "email", Recipient: noInApp.Email, Template: "invoice.issued", Status: "pending"},
		}
		if diff := cmp.Diff(want, outboxRows(t, db)); diff != "" {
			t.Errorf("outbox (-want +got):\n%s", diff)
		}

		// Security messages cannot be turned off, and reach only the user.
		_, err := b.svc.UpdatePreferences(ctx, noMail.ID, []notify.PreferenceChange{{Type: notify.SecurityPasswordChanged, Channel: notify.ChannelEmail, Enabled: false}})
		if err == nil {
			t.Fatal("turning a security email off was accepted")
		}
		b.notifyTx(t, notify.Event{Type: notify.SecurityPasswordChanged, UserIDs: []string{noMail.ID}, Data: map[string]any{"ip": "203.0.113.9"}})
		if diff := cmp.Diff(map[string]int{noMail.ID: 1}, inAppUsers(t, db, notify.SecurityPasswordChanged)); diff != "" {
			t.Errorf("security in-app (-want +got):\n%s", diff)
		}
	})
}

// TestPreferencesMatrix: defaults, choices and locks as the API shows them.
func TestPreferencesMatrix(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{})
	u := createUser(t, db, "ada")
	prefs, err := b.svc.UpdatePreferences(context.Background(), u.ID, []notify.PreferenceChange{{Type: notify.Announcement, Channel: notify.ChannelEmail, Enabled: false}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]notify.Preference{}
	for _, p := range prefs {
		got[string(p.Type)+"/"+string(p.Channel)] = p
		if p.Channel == notify.ChannelDiscord {
			t.Errorf("discord offered without a discord plugin: %+v", p)
		}
	}
	check := []notify.Preference{
		{Type: notify.Announcement, Category: notify.CategorySystem, Description: "News and announcements", Channel: notify.ChannelEmail, Enabled: false, Default: true, Marketing: true},
		{Type: notify.SecurityNewLogin, Category: notify.CategorySystem, Description: "A sign-in from a new address", Channel: notify.ChannelEmail, Enabled: true, Default: true, Locked: true},
		{Type: notify.InvoiceIssued, Category: notify.CategoryBilling, Description: "A new invoice was issued", Channel: notify.ChannelInApp, Enabled: true, Default: true},
	}
	for _, w := range check {
		if diff := cmp.Diff(w, got[string(w.Type)+"/"+string(w.Channel)]); diff != "" {
			t.Errorf("%s/%s (-want +got):\n%s", w.Type, w.Channel, diff)
		}
	}
	if _, ok := got["account.verify_email/email"]; ok {
		t.Error("hidden account mail offered in preferences")
	}
	_, err = b.svc.UpdatePreferences(context.Background(), u.ID, []notify.PreferenceChange{{Type: "nope", Channel: notify.ChannelEmail}, {Type: notify.InvoicePaid, Channel: "sms", Enabled: true}})
	if err == nil {
		t.Fatal("unknown type and channel accepted")
	}
}

// TestKeyNotifiesOnce: a second event with the same key writes nothing.
func TestKeyNotifiesOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, setupOpts{})
		u := createUser(t, db, "ada")
		acct := createAccount(t, db, map[user]string{u: "owner"})
		ev := notify.Event{Type: notify.InvoiceOverdue, AccountID: acct, Data: invoiceData, Key: "invoice.overdue:inv-1:day-3"}
		if res := b.notifyTx(t, ev); res.Duplicate || res.InApp != 1 {
			t.Fatalf("first: %+v", res)
		}
		if res := b.notifyTx(t, ev); !res.Duplicate || res.InApp != 0 {
			t.Fatalf("second: %+v", res)
		}
		if n := len(outboxRows(t, db)); n != 1 {
			t.Fatalf("%d outbox rows, want 1", n)
		}
	})
}

// TestUserIDsChunksAndDedup: many explicit users, duplicates ignored,
// disabled users skipped.
func TestUserIDsChunksAndDedup(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{})
	var ids []string
	for i := range 1205 {
		ids = append(ids, createUser(t, db, "u"+itoa(i)).ID)
	}
	if err := accountstest.Disable(context.Background(), db, ids[7]); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, ids[0], ids[1200])
	res := b.notifyTx(t, notify.Event{Type: notify.ServiceProvisioned, UserIDs: ids, Data: map[string]any{"service_name": "vps-1"}})
	if res.InApp != 1204 || res.Messages[notify.ChannelEmail] != 1204 {
		t.Fatalf("result %+v, want 1204 in-app and 1204 emails", res)
	}
	got := inAppUsers(t, db, notify.ServiceProvisioned)
	keys := make([]string, 0, len(got))
	for k, n := range got {
		if n != 1 {
			t.Errorf("user %s has %d rows", k, n)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if _, ok := got[ids[7]]; ok {
		t.Error("disabled user notified")
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	s := ""
	for i > 0 {
		s = string(digits[i%10]) + s
		i /= 10
	}
	return s
}

// TestInvalidEvents: malformed events are refused before anything is
// written.
func TestInvalidEvents(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{})
	for name, ev := range map[string]notify.Event{
		"unknown type":     {Type: "invoice.lost", AllUsers: true},
		"no audience":      {Type: notify.InvoicePaid},
		"two audiences":    {Type: notify.InvoicePaid, AllUsers: true, AccountID: "a"},
		"admin with users": {Type: notify.AdminAlert, UserIDs: []string{"u"}},
	} {
		err := db.Tx(context.Background(), func(ctx context.Context, tx bun.Tx) error {
			return b.svc.Notify(ctx, tx, ev)
		})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
