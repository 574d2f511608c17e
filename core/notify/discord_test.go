package notify_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/outbox"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// TestAdminAlertsGoToTheWebhook: admin alert types post once to the
// plugin's own webhook, with no user.
func TestAdminAlertsGoToTheWebhook(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	b := setup(t, db, setupOpts{opts: notify.Options{DiscordPlugin: "discord", AdminAlerts: []notify.Type{notify.ServiceFailed}}})
	u := createUser(t, db, "ada")
	acct := createAccount(t, db, map[user]string{u: "owner"})
	b.notifyTx(t, notify.Event{Type: notify.ServiceFailed, AccountID: acct, Data: map[string]any{"service_name": "vps-1", "reason": "node down"}, Link: "/services/s1"})
	b.notifyTx(t, notify.Event{Type: notify.AdminAlert, Data: map[string]any{"title": "Plugin down", "message": "virtfusion failed"}})
	var ms []outbox.Message
	if err := db.NewSelect().Model(&ms).Where("channel = 'discord'").Order("created_at").Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	type row struct {
		UserID             *string
		Recipient, Subject string
		Text               string
	}
	got := make([]row, len(ms))
	for i, m := range ms {
		got[i] = row{m.UserID, m.Recipient, m.Subject, m.BodyText}
	}
	want := []row{
		{nil, "default", "A problem with vps-1", "Service vps-1 failed: node down. Our team has been alerted.\n\nhttps://billing.example.com/services/s1"},
		{nil, "default", "Plugin down", "virtfusion failed"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discord messages (-want +got):\n%s", diff)
	}
	if _, err := notify.New(db, nil, notify.Options{AdminAlerts: []notify.Type{"nope"}}); err == nil {
		t.Error("an unknown admin alert type was accepted")
	}
}

type recordingNotifier struct{ got *pb.DeliverRequest }

func (r *recordingNotifier) Deliver(_ context.Context, req *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	r.got = req
	return &pb.DeliverResponse{ProviderMessageId: "p1"}, nil
}

// TestNotifierSender: outbox messages become DeliverRequests keyed by the
// message id, headers included.
func TestNotifierSender(t *testing.T) {
	t.Parallel()
	rn := &recordingNotifier{}
	s := &notify.NotifierSender{Lookup: func() (sdk.Notifier, error) { return rn, nil }}
	uid := "u1"
	err := s.Send(context.Background(), &outbox.Message{
		ID: "m1", UserID: &uid, Channel: "email", Recipient: "ada@example.com", Category: "marketing", Subject: "Hi",
		BodyText: "t", BodyHTML: "<p>h</p>", Headers: map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.DeliverRequest{IdempotencyKey: "m1", Channel: "email", Recipient: "ada@example.com", Subject: "Hi", TextBody: "t",
		HtmlBody: "<p>h</p>", Category: "marketing", Headers: map[string]string{"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}
	if diff := cmp.Diff(want, rn.got, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
