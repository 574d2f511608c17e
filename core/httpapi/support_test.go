package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/httpapi"
	"github.com/ezscale/platform/core/support"
	"github.com/ezscale/platform/core/support/supporttest"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
)

// supportApp starts the application with the support assistant on, its
// assistant and helpdesk plugins served in process (supporttest) and
// attached to by the app's plugin host, and a knowledge base of one
// article.
func supportApp(t *testing.T, d database.Dialect, url string, opts ...func(*config.Config)) (*appBundle, *supporttest.Assistant, *supporttest.Helpdesk) {
	t.Helper()
	assistant, helpdesk := supporttest.NewAssistant(), supporttest.NewHelpdesk()
	kb := t.TempDir()
	if err := os.WriteFile(filepath.Join(kb, "refunds.md"), []byte("# Refunds\n\nRefunds are credited to your balance."), 0o600); err != nil {
		t.Fatal(err)
	}
	reattach := map[string]sdk.ReattachConfig{"anthropic": plugintest.Serve(t, assistant), "supportpal": plugintest.Serve(t, helpdesk)}
	// The tests count questions against the per-user limit's window.
	tb := startAppAt(t, d, url, windowClock(), append([]func(*config.Config){func(c *config.Config) {
		c.Support.Assistant, c.Support.Helpdesk, c.Support.KnowledgeDir = "anthropic", "supportpal", kb
		c.Support.KnowledgeURL = "https://help.example.com/kb"
		c.Plugin = []config.Plugin{{Name: "anthropic", Enabled: true}, {Name: "supportpal", Enabled: true}}
		c.Reattach = reattach
	}}, opts...)...)
	if err := tb.app.StartPlugins(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tb, assistant, helpdesk
}

// sseEvents parses a whole event stream.
func sseEvents(t *testing.T, body []byte) []struct{ Name, Data string } {
	t.Helper()
	var out []struct{ Name, Data string }
	var name, data string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if name != "" {
				out = append(out, struct{ Name, Data string }{name, data})
			}
			name, data = "", ""
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	return out
}

// TestSupportRoutes: a member starts a conversation, asks (the answer
// streams as token events, then citations and the stored answer), rates
// the answer and escalates (the ticket link shows; escalating again gives
// the same ticket); the conversation is the member's own (another member
// of the account and another account get 404); refusals are problem+json
// naming the field or the reason; staff list the conversations and see
// the stats.
func TestSupportRoutes(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb, assistant, helpdesk := supportApp(t, d, url, func(c *config.Config) { c.Support.AskLimit = 3 })
		owner, outsider := tb.newUser(t, "asker"), tb.newUser(t, "outsider")
		colleague := tb.newUser(t, "colleague")
		tb.addMember(t, owner.AccountID, colleague.ID, "technical")
		staff := tb.newStaff(t, "support")
		base := "/api/v1/accounts/" + owner.AccountID + "/support"

		var c support.Conversation
		tb.client.do("POST", base+"/conversations", owner.Token, map[string]any{}).want(t, http.StatusCreated).decode(t, &c)
		tb.client.do("POST", base+"/conversations", owner.Token, map[string]any{"subject": strings.Repeat("s", 121)}).
			wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", base+"/conversations", owner.Token, map[string]any{"account_id": "x"}).wantProblem(t, http.StatusBadRequest, "invalid")

		ask := base + "/conversations/" + c.ID + "/ask"
		tb.client.do("POST", ask, owner.Token, map[string]any{"question": " "}).wantProblem(t, http.StatusBadRequest, "invalid")
		assistant.Set("Refunds go to your balance.", []string{"refunds"}, false)
		r := tb.client.do("POST", ask, owner.Token, map[string]any{"question": "How do refunds work?"}).want(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		evs := sseEvents(t, r.Body)
		var names []string
		var text strings.Builder
		for _, e := range evs {
			names = append(names, e.Name)
			if e.Name == "token" {
				var tok support.TokenEvent
				if err := json.Unmarshal([]byte(e.Data), &tok); err != nil {
					t.Fatal(err)
				}
				text.WriteString(tok.Text)
			}
		}
		if diff := cmp.Diff([]string{"token", "token", "token", "token", "token", "citations", "done"}, names); diff != "" {
			t.Fatalf("events (-want +got):\n%s", diff)
		}
		if text.String() != "Refunds go to your balance." {
			t.Errorf("streamed %q", text.String())
		}
		var cites support.CitationsEvent
		if err := json.Unmarshal([]byte(evs[5].Data), &cites); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]support.Citation{{ID: "refunds", Title: "Refunds", URL: "https://help.example.com/kb/refunds"}}, cites.Citations); diff != "" {
			t.Errorf("citations (-want +got):\n%s", diff)
		}
		var done support.DoneEvent
		if err := json.Unmarshal([]byte(evs[6].Data), &done); err != nil {
			t.Fatal(err)
		}

		rate := base + "/messages/" + done.Message.ID + "/rating"
		tb.client.do("POST", rate, owner.Token, map[string]any{}).wantProblem(t, http.StatusBadRequest, "invalid")
		var rated support.Message
		tb.client.do("POST", rate, owner.Token, map[string]any{"helpful": true}).want(t, http.StatusOK).decode(t, &rated)
		if rated.Rating != 1 {
			t.Errorf("rating %d", rated.Rating)
		}

		// The conversation is the asker's own.
		one := base + "/conversations/" + c.ID
		tb.client.do("GET", one, colleague.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("POST", ask, colleague.Token, map[string]any{"question": "hi"}).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("POST", rate, colleague.Token, map[string]any{"helpful": false}).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("GET", "/api/v1/accounts/"+owner.AccountID+"/support/conversations/"+c.ID, outsider.Token, nil).
			wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("GET", "/api/v1/accounts/"+outsider.AccountID+"/support/conversations/"+c.ID, outsider.Token, nil).
			wantProblem(t, http.StatusNotFound, "not_found")
		var page httpapi.List[support.Conversation]
		tb.client.do("GET", base+"/conversations", colleague.Token, nil).want(t, http.StatusOK).decode(t, &page)
		if len(page.Data) != 0 {
			t.Errorf("a colleague lists %d of the asker's conversations", len(page.Data))
		}

		var esc support.Conversation
		tb.client.do("POST", one+"/escalate", owner.Token, map[string]any{"reason": "please call"}).want(t, http.StatusOK).decode(t, &esc)
		if esc.TicketURL != "https://help.example.com/tickets/10001" || !esc.Escalated {
			t.Errorf("escalated %+v", esc)
		}
		tb.client.do("POST", one+"/escalate", owner.Token, map[string]any{}).want(t, http.StatusOK).decode(t, &esc)
		if _, n := helpdesk.Opened(); n != 1 || esc.TicketID != "10001" {
			t.Errorf("%d tickets, ticket %q after escalating twice; want one", n, esc.TicketID)
		}
		tb.client.do("POST", ask, owner.Token, map[string]any{"question": "still there?"}).wantProblem(t, http.StatusConflict, "escalated")

		var got support.Conversation
		tb.client.do("GET", one, owner.Token, nil).want(t, http.StatusOK).decode(t, &got)
		if len(got.Messages) != 2 || got.Messages[1].Citations[0].ID != "refunds" || got.TicketNumber != "10001" {
			t.Errorf("conversation %+v", got)
		}

		// The per-user question limit (3 per hour here).
		var c2 support.Conversation
		tb.client.do("POST", base+"/conversations", owner.Token, map[string]any{"subject": "Another"}).want(t, http.StatusCreated).decode(t, &c2)
		ask2 := base + "/conversations/" + c2.ID + "/ask"
		tb.client.do("POST", ask2, owner.Token, map[string]any{"question": "two"}).want(t, http.StatusOK)
		tb.client.do("POST", ask2, owner.Token, map[string]any{"question": "three"}).want(t, http.StatusOK)
		p := tb.client.do("POST", ask2, owner.Token, map[string]any{"question": "four"}).wantProblem(t, http.StatusTooManyRequests, "ask_limit")
		if p.Status != http.StatusTooManyRequests {
			t.Errorf("problem %+v", p)
		}

		var all httpapi.List[support.Conversation]
		tb.client.do("GET", "/api/v1/admin/support/conversations?escalated=true", staff.Token, nil).want(t, http.StatusOK).decode(t, &all)
		if len(all.Data) != 1 || all.Data[0].ID != c.ID {
			t.Errorf("staff list %+v", all.Data)
		}
		tb.client.do("GET", "/api/v1/admin/support/conversations?escalated=maybe", staff.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		var st support.Stats
		tb.client.do("GET", "/api/v1/admin/support/stats?days=7", staff.Token, nil).want(t, http.StatusOK).decode(t, &st)
		if st.Conversations != 2 || st.Escalated != 1 || st.AnsweredWithoutEscalation != 1 || st.RatedHelpful != 1 {
			t.Errorf("stats %+v", st)
		}
		tb.client.do("GET", "/api/v1/admin/support/stats?days=0", staff.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		if n := tb.count(t, "audit_events", "action = ?", "support.conversation.escalate"); n != 1 {
			t.Errorf("%d escalation audit events, want 1", n)
		}
	})
}

// TestSupportOff: with no assistant configured, starting a conversation
// is 422 assistant_off.
func TestSupportOff(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite))
	u := tb.newUser(t, "nosupport")
	tb.client.do("POST", "/api/v1/accounts/"+u.AccountID+"/support/conversations", u.Token, map[string]any{}).
		wantProblem(t, http.StatusUnprocessableEntity, "assistant_off")
}

// TestSupportReplies: on an escalated conversation the customer replies
// to the support team: 201 with the stored message, sent and on the
// helpdesk's ticket; with the helpdesk down it is 201 pending and the
// poll job posts it once; a retry with the same Idempotency-Key returns
// the first reply; another member or account gets 404, a conversation
// without a ticket 409 not_escalated, an empty text 400 naming text, too
// many replies 429 reply_limit, and a refused reply reaches no ticket.
func TestSupportReplies(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb, _, helpdesk := supportApp(t, d, url, func(c *config.Config) { c.Support.AskLimit = 4 })
		owner, outsider := tb.newUser(t, "replier"), tb.newUser(t, "outsider")
		colleague := tb.newUser(t, "colleague")
		tb.addMember(t, owner.AccountID, colleague.ID, "technical")
		base := "/api/v1/accounts/" + owner.AccountID + "/support/conversations"

		var fresh, c support.Conversation
		tb.client.do("POST", base, owner.Token, map[string]any{}).want(t, http.StatusCreated).decode(t, &fresh)
		tb.client.do("POST", base, owner.Token, map[string]any{}).want(t, http.StatusCreated).decode(t, &c)
		tb.client.do("POST", base+"/"+fresh.ID+"/replies", owner.Token, map[string]any{"text": "hello?"}).
			wantProblem(t, http.StatusConflict, "not_escalated")
		tb.client.do("POST", base+"/"+c.ID+"/escalate", owner.Token, map[string]any{}).want(t, http.StatusOK).decode(t, &c)
		replies := base + "/" + c.ID + "/replies"

		tb.client.do("POST", replies, owner.Token, map[string]any{"text": " "}).wantProblem(t, http.StatusBadRequest, "invalid")
		tb.client.do("POST", replies, colleague.Token, map[string]any{"text": "hi"}).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("POST", "/api/v1/accounts/"+outsider.AccountID+"/support/conversations/"+c.ID+"/replies", outsider.Token,
			map[string]any{"text": "hi"}).wantProblem(t, http.StatusNotFound, "not_found")
		tb.client.do("POST", "/api/v1/accounts/"+owner.AccountID+"/support/conversations/"+c.ID+"/replies", outsider.Token,
			map[string]any{"text": "hi"}).wantProblem(t, http.StatusNotFound, "not_found")

		var sent support.Message
		tb.client.do("POST", replies, owner.Token, map[string]any{"text": "It is web-1."}).want(t, http.StatusCreated).decode(t, &sent)
		if sent.Role != "customer" || sent.Delivery != "sent" {
			t.Errorf("reply %+v, want the customer's, sent", sent)
		}
		helpdesk.FailNextAdds(1)
		var pending, again support.Message
		tb.client.do("POST", replies, owner.Token, map[string]any{"text": "Any news?"}, "Idempotency-Key", "reply-2").
			want(t, http.StatusCreated).decode(t, &pending)
		if pending.Delivery != "pending" {
			t.Errorf("reply with the helpdesk down: delivery %q, want pending", pending.Delivery)
		}
		if _, err := tb.app.Support.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
		tb.client.do("POST", replies, owner.Token, map[string]any{"text": "Any news?"}, "Idempotency-Key", "reply-2").
			want(t, http.StatusCreated).decode(t, &again)
		if again.ID != pending.ID || again.Delivery != "sent" {
			t.Errorf("retried reply %+v, want the first (%s), delivered by the poll", again, pending.ID)
		}
		var texts []string
		for _, m := range helpdesk.Messages(c.TicketID) {
			texts = append(texts, m.GetAuthorRole()+": "+m.GetText())
		}
		if diff := cmp.Diff([]string{"customer: It is web-1.", "customer: Any news?"}, texts); diff != "" {
			t.Errorf("ticket (-want +got):\n%s", diff)
		}

		tb.client.do("POST", replies, owner.Token, map[string]any{"text": "three"}).want(t, http.StatusCreated)
		tb.client.do("POST", replies, owner.Token, map[string]any{"text": "four"}).want(t, http.StatusCreated)
		tb.client.do("POST", replies, owner.Token, map[string]any{"text": "five"}).wantProblem(t, http.StatusTooManyRequests, "reply_limit")
		if n := len(helpdesk.Messages(c.TicketID)); n != 4 {
			t.Errorf("the ticket holds %d messages, want the 4 accepted replies", n)
		}
		var got support.Conversation
		tb.client.do("GET", base+"/"+c.ID, owner.Token, nil).want(t, http.StatusOK).decode(t, &got)
		if len(got.Messages) != 4 {
			t.Errorf("the conversation holds %d messages, want the 4 accepted replies", len(got.Messages))
		}
		if n := tb.count(t, "audit_events", "action = ?", "support.reply.add"); n != 4 {
			t.Errorf("%d reply audit events, want 4", n)
		}
	})
}

// TestSupportRepliesWithoutHelpdesk: with no helpdesk configured a reply
// is 422 helpdesk_off.
func TestSupportRepliesWithoutHelpdesk(t *testing.T) {
	t.Parallel()
	tb := startApp(t, database.SQLite, databasetest.URL(t, database.SQLite))
	u := tb.newUser(t, "nohelpdesk")
	tb.client.do("POST", "/api/v1/accounts/"+u.AccountID+"/support/conversations/x/replies", u.Token, map[string]any{"text": "hi"}).
		wantProblem(t, http.StatusUnprocessableEntity, "helpdesk_off")
}

// TestSupportKnowledgeRoutes: staff see the knowledge base's article
// count and indexed-at time; a staff admin's reload picks up an article
// added to the folder (audited); support staff and customers are 403, as
// the role matrix says.
func TestSupportKnowledgeRoutes(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		var kb string
		tb, _, _ := supportApp(t, d, url, func(c *config.Config) { kb = c.Support.KnowledgeDir })
		customer := tb.newUser(t, "customer")
		supportStaff, admin := tb.newStaff(t, "support"), tb.newStaff(t, "admin")

		var st support.KnowledgeStatus
		tb.client.do("GET", "/api/v1/admin/support/knowledge", supportStaff.Token, nil).want(t, http.StatusOK).decode(t, &st)
		if !st.Configured || st.Articles != 1 || st.IndexedAt.IsZero() {
			t.Errorf("knowledge %+v, want the one article", st)
		}
		tb.client.do("GET", "/api/v1/admin/support/knowledge", customer.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")

		if err := os.WriteFile(filepath.Join(kb, "reboot.md"), []byte("# Rebooting\n\nUse the power menu."), 0o600); err != nil {
			t.Fatal(err)
		}
		reload := "/api/v1/admin/support/knowledge/reload"
		tb.client.do("POST", reload, customer.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		tb.client.do("POST", reload, supportStaff.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		var after support.KnowledgeStatus
		tb.client.do("POST", reload, admin.Token, nil).want(t, http.StatusOK).decode(t, &after)
		if diff := cmp.Diff(support.KnowledgeStatus{Configured: true, Articles: 2, IndexedAt: after.IndexedAt, Skipped: []string{},
			CheckedAt: after.CheckedAt}, after); diff != "" || after.IndexedAt.Before(st.IndexedAt) {
			t.Errorf("reload (-want +got):\n%s", diff)
		}
		if n := tb.count(t, "audit_events", "action = ?", "support.knowledge.reload"); n != 1 {
			t.Errorf("%d reload audit events, want 1", n)
		}
	})
}
