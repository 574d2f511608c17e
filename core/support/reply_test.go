package support_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/support"
)

// escalated starts a conversation of user-1 in acct-1 and hands it to the
// helpdesk.
func (b *testBundle) escalated(t *testing.T) *support.Conversation {
	t.Helper()
	c := b.start(t, "acct-1", "user-1")
	conv, err := b.svc.Escalate(context.Background(), "acct-1", "user-1", c.ID, support.EscalateInput{})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

// ticketTexts is the ticket as the helpdesk shows it: role and text of
// each message, in order.
func (b *testBundle) ticketTexts(ticketID string) []string {
	var out []string
	for _, m := range b.helpdesk.Messages(ticketID) {
		out = append(out, m.GetAuthorRole()+": "+m.GetText())
	}
	return out
}

// TestReplyReachesTheTicketOnce: the customer's reply on an escalated
// conversation is stored (role customer, sent), posted once to the
// ticket with a key derived from the message id, audited, and shown in
// the conversation in order with the operators' replies; polling posts
// nothing again and does not copy the customer's own message back.
func TestReplyReachesTheTicketOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, support.Options{}, nil)
		ctx := context.Background()
		conv := b.escalated(t)
		b.helpdesk.Reply(conv.TicketID, "r1", "Which server is it?", t0.Unix()+60, "waiting_on_customer", "Waiting")
		if _, err := b.svc.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		b.clock.Add(time.Minute)
		m, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "  It is web-1.  "})
		if err != nil {
			t.Fatal(err)
		}
		if m.Role != support.RoleCustomer || m.Text != "It is web-1." || m.Delivery != support.DeliverySent {
			t.Errorf("reply %+v, want the customer's text, sent", m)
		}
		adds := b.helpdesk.Added()
		if len(adds) != 1 || adds[0].GetIdempotencyKey() != "support-message-"+m.ID || adds[0].GetTicketId() != conv.TicketID ||
			adds[0].GetCustomer().GetEmail() != "user-1@example.com" {
			t.Fatalf("AddMessage calls %v, want one for the ticket keyed by the message", adds)
		}
		st, err := b.svc.Poll(ctx)
		if err != nil || st.Delivered != 0 || st.Replies != 0 {
			t.Errorf("poll after a delivered reply: %+v, %v; want nothing to do", st, err)
		}
		if n := len(b.helpdesk.Added()); n != 1 {
			t.Errorf("%d AddMessage calls after a poll, want 1", n)
		}
		if diff := cmp.Diff([]string{"staff: Which server is it?", "customer: It is web-1."}, b.ticketTexts(conv.TicketID)); diff != "" {
			t.Errorf("ticket (-want +got):\n%s", diff)
		}
		got, err := b.svc.Get(ctx, "acct-1", "user-1", conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		var thread []string
		for _, m := range got.Messages {
			thread = append(thread, m.Role+" "+m.Delivery+": "+m.Text)
		}
		if diff := cmp.Diff([]string{"staff : Which server is it?", "customer sent: It is web-1."}, thread); diff != "" {
			t.Errorf("conversation (-want +got):\n%s", diff)
		}
		evs, err := audit.List(ctx, db, audit.Filter{Action: "support.reply.add", TargetID: conv.ID})
		if err != nil || len(evs) != 1 {
			t.Errorf("audit events %v, %v; want one support.reply.add", evs, err)
		}
	})
}

// TestHelpdeskReplyWithNULIsDelivered: an operator's reply carrying a NUL
// (pasted binary output), and a ticket status named with one, reach the
// conversation, the NULs replaced, and the poll goes on; its write failed the poll's transaction on both
// dialects, so no reply of that poll reached anyone, poll after poll.
func TestHelpdeskReplyWithNULIsDelivered(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, support.Options{}, nil)
		ctx := context.Background()
		conv := b.escalated(t)
		b.helpdesk.Reply(conv.TicketID, "r1", "The log says: \x00\x00ELF", t0.Unix()+60, "waiting_on_customer", "Ops\x00Team")
		st, err := b.svc.Poll(ctx)
		if err != nil || st.Replies != 1 {
			t.Fatalf("poll: %+v, %v; want the reply stored", st, err)
		}
		got, err := b.svc.Get(ctx, "acct-1", "user-1", conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		var thread []string
		for _, m := range got.Messages {
			thread = append(thread, m.Role+" "+m.AuthorName+": "+m.Text)
		}
		if diff := cmp.Diff([]string{"staff Alex: The log says: \uFFFD\uFFFDELF"}, thread); diff != "" {
			t.Errorf("conversation (-want +got):\n%s", diff)
		}
		if got.TicketStatus != "Ops\uFFFDTeam" {
			t.Errorf("ticket status %q, want the helpdesk's name with the NUL replaced", got.TicketStatus)
		}
	})
}

// TestReplyRetriedWithKeyStoresOnce: a request retried with the same
// idempotency key returns the reply the first stored (delivering it if it
// is still pending) and neither stores nor posts a second message.
func TestReplyRetriedWithKeyStoresOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, support.Options{}, nil)
		ctx := context.Background()
		conv := b.escalated(t)
		b.helpdesk.FailNextAdds(1)
		in := support.ReplyInput{Text: "Any news?", Key: "k-1"}
		first, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, in)
		if err != nil || first.Delivery != support.DeliveryPending {
			t.Fatalf("first request: %+v, %v; want it pending", first, err)
		}
		again, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, in)
		if err != nil || again.ID != first.ID || again.Delivery != support.DeliverySent {
			t.Fatalf("retried request: %+v, %v; want the first reply, now sent", again, err)
		}
		if _, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, in); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"customer: Any news?"}, b.ticketTexts(conv.TicketID)); diff != "" {
			t.Errorf("ticket (-want +got):\n%s", diff)
		}
		if n := len(b.helpdesk.Added()); n != 2 {
			t.Errorf("%d AddMessage calls, want 2 (the failed one and its retry)", n)
		}
		got, err := b.svc.Get(ctx, "acct-1", "user-1", conv.ID)
		if err != nil || len(got.Messages) != 1 {
			t.Errorf("conversation holds %d messages, want 1 (%v)", len(got.Messages), err)
		}
	})
}

// TestReplyPendingThenDeliveredOnce: when the helpdesk fails, the reply
// is stored as pending and returned so; the next poll posts it with the
// same key (the ticket holds it once) and marks it sent; a later reply
// is never posted before it (the ticket keeps the order); further polls
// post nothing.
func TestReplyPendingThenDeliveredOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, support.Options{}, nil)
		ctx := context.Background()
		conv := b.escalated(t)
		b.helpdesk.FailNextAdds(3)
		first, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "first"})
		if err != nil {
			t.Fatal(err)
		}
		if first.Delivery != support.DeliveryPending {
			t.Fatalf("reply with the helpdesk down: delivery %q, want pending", first.Delivery)
		}
		b.clock.Add(time.Second)
		if _, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "second"}); err != nil {
			t.Fatal(err)
		}
		// Still down: the first fails again and the second waits behind it.
		st, err := b.svc.Poll(ctx)
		if err != nil || st.Delivered != 0 || st.Undelivered != 1 {
			t.Fatalf("poll with the helpdesk down: %+v, %v", st, err)
		}
		st, err = b.svc.Poll(ctx)
		if err != nil || st.Delivered != 2 {
			t.Fatalf("poll with the helpdesk back: %+v, %v; want both delivered", st, err)
		}
		if st, _ := b.svc.Poll(ctx); st.Delivered != 0 || st.Undelivered != 0 {
			t.Errorf("a further poll: %+v, want nothing to deliver", st)
		}
		if diff := cmp.Diff([]string{"customer: first", "customer: second"}, b.ticketTexts(conv.TicketID)); diff != "" {
			t.Errorf("ticket (-want +got):\n%s", diff)
		}
		var keys []string
		for _, a := range b.helpdesk.Added() {
			keys = append(keys, a.GetText()+" "+strings.TrimPrefix(a.GetIdempotencyKey(), "support-message-"))
		}
		if len(keys) != 5 || keys[0] != "first "+first.ID || keys[1] != keys[0] || keys[2] != keys[0] || keys[3] != keys[0] ||
			!strings.HasPrefix(keys[4], "second ") {
			t.Errorf("AddMessage calls %v, want the first reply tried four times with its key, and only then the second", keys)
		}
		got, err := b.svc.Get(ctx, "acct-1", "user-1", conv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Messages {
			if m.Delivery != support.DeliverySent {
				t.Errorf("message %q: delivery %q, want sent", m.Text, m.Delivery)
			}
		}
	})
}

// TestReplyToClosedTicketReopens: a reply to a ticket the helpdesk
// closed is posted (the helpdesk reopens it) and the ticket is polled
// again, bringing the operators' next answer.
func TestReplyToClosedTicketReopens(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, support.Options{}, nil)
		ctx := context.Background()
		conv := b.escalated(t)
		b.helpdesk.Reply(conv.TicketID, "r1", "Fixed, closing.", t0.Unix()+60, "closed", "Resolved")
		if _, err := b.svc.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "It broke again."})
		if err != nil || m.Delivery != support.DeliverySent {
			t.Fatalf("reply to a closed ticket: %+v, %v; want it sent", m, err)
		}
		got, err := b.svc.Get(ctx, "acct-1", "user-1", conv.ID)
		if err != nil || got.TicketState != "open" {
			t.Fatalf("ticket state after the reply: %q, %v; want open", got.TicketState, err)
		}
		b.helpdesk.Reply(conv.TicketID, "r2", "Looking again.", t0.Unix()+120, "open", "Open")
		if st, err := b.svc.Poll(ctx); err != nil || st.Tickets != 1 || st.Replies != 1 {
			t.Errorf("poll after the reopening: %+v, %v; want the ticket polled and its reply", st, err)
		}
	})
}

// TestReplyRefusals: no helpdesk, an empty or too long text, another
// user's conversation, a conversation without a ticket and too many
// replies are refused, and nothing is stored or posted.
func TestReplyRefusals(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, support.Options{AskLimit: 2}, nil)
		ctx := context.Background()
		conv := b.escalated(t)
		fresh := b.start(t, "acct-1", "user-1")
		off := support.New(support.Deps{DB: db}, support.Options{Assistant: "anthropic", PollInterval: -1})
		if _, err := off.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "hi"}); reason(err) != "helpdesk_off" {
			t.Errorf("no helpdesk: %v, want helpdesk_off", err)
		}
		for _, tc := range []struct {
			name               string
			account, user, cid string
			text               string
			code               apperr.Code
			reason             string
		}{
			{"empty", "acct-1", "user-1", conv.ID, "  ", apperr.Invalid, ""},
			{"too long", "acct-1", "user-1", conv.ID, strings.Repeat("x", 4001), apperr.Invalid, ""},
			{"another user", "acct-1", "user-3", conv.ID, "hi", apperr.NotFound, ""},
			{"another account", "acct-2", "user-1", conv.ID, "hi", apperr.NotFound, ""},
			{"no ticket", "acct-1", "user-1", fresh.ID, "hi", apperr.Conflict, "not_escalated"},
		} {
			_, err := b.svc.Reply(ctx, tc.account, tc.user, tc.cid, support.ReplyInput{Text: tc.text})
			if apperr.CodeOf(err) != tc.code || reason(err) != tc.reason {
				t.Errorf("%s: %v, want %s %s", tc.name, err, tc.code, tc.reason)
			}
		}
		for range 2 {
			if _, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "hi"}); err != nil {
				t.Fatal(err)
			}
		}
		_, err := b.svc.Reply(ctx, "acct-1", "user-1", conv.ID, support.ReplyInput{Text: "hi"})
		if ae, ok := apperr.As(err); !ok || ae.Code != apperr.RateLimited || ae.Reason != "reply_limit" || ae.RetryAfter != time.Hour {
			t.Errorf("third reply within the hour: %v, want rate_limited reply_limit for an hour", err)
		}
		if n := len(b.helpdesk.Added()); n != 2 {
			t.Errorf("%d AddMessage calls, want the 2 accepted replies", n)
		}
		got, err := b.svc.Get(ctx, "acct-1", "user-1", conv.ID)
		if err != nil || len(got.Messages) != 2 {
			t.Errorf("conversation holds %d messages, want the 2 accepted replies (%v)", len(got.Messages), err)
		}
	})
}

func reason(err error) string {
	if ae, ok := apperr.As(err); ok {
		return ae.Reason
	}
	return ""
}
