package main

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/ezscale/platform/plugins/internal/fault"
	"github.com/ezscale/platform/plugins/supportpal/fakesupportpal"
	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// clock is a test clock the fake and the plugin share.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func setup(t *testing.T, overrides map[string]any) (*fakesupportpal.Server, *plugintest.Harness, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	fake := fakesupportpal.New(fakesupportpal.Options{Now: clk.Now})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg := map[string]any{"base_url": srv.URL + "/api", "api_token": fakesupportpal.DefaultToken,
		"department_id": fakesupportpal.DepartmentSupport}
	for k, v := range overrides {
		cfg[k] = v
	}
	p := New()
	p.now = clk.Now
	return fake, plugintest.New(t, p, plugintest.WithConfig(cfg)), clk
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var customer = &pb.Customer{AccountId: "acc_1", Email: "ada@example.com", Name: "Ada Lovelace"}

func open(t *testing.T, h *plugintest.Harness, key, body string) (*pb.OpenTicketResponse, error) {
	t.Helper()
	return h.Helpdesk().OpenTicket(ctx(t), &pb.OpenTicketRequest{IdempotencyKey: key, Customer: customer,
		Subject: "VPS #42 is down", Body: body, Priority: "high"})
}

// TestOpenTicketCreatesUserAndEscapesTranscript: the user is created by
// email, the ticket opens in the configured department with the asked
// priority, and the transcript arrives HTML-escaped.
func TestOpenTicketCreatesUserAndEscapesTranscript(t *testing.T) {
	t.Parallel()
	fake, h, _ := setup(t, nil)
	resp, err := open(t, h, "k1", "customer: <script>alert(1)</script>\nassistant: I will hand this over")
	if err != nil {
		t.Fatalf("OpenTicket: %v", err)
	}
	if resp.GetUrl() == "" || resp.GetNumber() == "" || resp.GetHelpdeskUserId() == "" {
		t.Errorf("response %v: want url, number and helpdesk user", resp)
	}
	id, _ := strconv.ParseInt(resp.GetTicketId(), 10, 64)
	ms := fake.Messages(id)
	if len(ms) != 1 {
		t.Fatalf("messages %v, want the transcript", ms)
	}
	if strings.Contains(ms[0].Text, "<script>") || !strings.Contains(ms[0].Text, "&lt;script&gt;alert(1)&lt;/script&gt;<br />") {
		t.Errorf("ticket text %q: want the transcript escaped with line breaks", ms[0].Text)
	}
	got, err := h.Helpdesk().GetTicket(ctx(t), &pb.GetTicketRequest{TicketId: resp.GetTicketId()})
	if err != nil {
		t.Fatalf("GetTicket: %v", err)
	}
	want := &pb.GetTicketResponse{
		Ticket: &pb.Ticket{TicketId: resp.GetTicketId(), Number: resp.GetNumber(), Url: resp.GetUrl(), Subject: "VPS #42 is down",
			Status: &pb.TicketStatus{State: "open", Name: "Open"}, UpdatedAt: 1796547600, HelpdeskUserId: resp.GetHelpdeskUserId()},
		Messages: []*pb.TicketMessage{{Id: strconv.FormatInt(ms[0].ID, 10), AuthorRole: "customer", AuthorName: "Ada Lovelace",
			Text: "customer: <script>alert(1)</script>\nassistant: I will hand this over", CreatedAt: 1796547600}},
	}
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Errorf("GetTicket (-want +got):\n%s", d)
	}
}

// TestOpenTicketIsIdempotentAfterALostAnswer: when SupportPal opened the
// ticket but the answer was lost, the retry with the same key finds it
// (by the key's hidden marker) and opens no second ticket; a repeat after
// success replays.
func TestOpenTicketIsIdempotentAfterALostAnswer(t *testing.T) {
	t.Parallel()
	fake, h, _ := setup(t, nil)
	fake.LoseNext("POST /api/ticket/ticket", 1)
	if _, err := open(t, h, "k-lost", "hello"); sdk.KindOf(err) != sdk.Unavailable {
		t.Fatalf("OpenTicket with a lost answer: %v, want unavailable", err)
	}
	first, err := open(t, h, "k-lost", "hello")
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	again, err := open(t, h, "k-lost", "hello")
	if err != nil || again.GetTicketId() != first.GetTicketId() {
		t.Fatalf("repeat: %v, %v; want ticket %s", again, err, first.GetTicketId())
	}
	if n := fake.Tickets(); n != 1 {
		t.Errorf("tickets %d, want 1", n)
	}
	// Another key opens another ticket for the same (existing) user.
	other, err := open(t, h, "k-other", "hello")
	if err != nil || other.GetTicketId() == first.GetTicketId() || other.GetHelpdeskUserId() != first.GetHelpdeskUserId() {
		t.Errorf("other key: %v, %v", other, err)
	}
}

// TestRepliesAndStatusArriveByPolling: an operator's reply and a status
// change show in ListUpdatedTickets since the last poll and in GetTicket's
// messages after a time; operator notes never show.
func TestRepliesAndStatusArriveByPolling(t *testing.T) {
	t.Parallel()
	fake, h, clk := setup(t, nil)
	resp, err := open(t, h, "k1", "help")
	if err != nil {
		t.Fatalf("OpenTicket: %v", err)
	}
	clk.Add(time.Minute)
	polled := clk.Now().Unix()
	none, err := h.Helpdesk().ListUpdatedTickets(ctx(t), &pb.ListUpdatedTicketsRequest{UpdatedSince: polled})
	if err != nil || len(none.GetTickets()) != 0 {
		t.Fatalf("ListUpdatedTickets before a reply: %v, %v", none, err)
	}
	id, _ := strconv.ParseInt(resp.GetTicketId(), 10, 64)
	clk.Add(time.Minute)
	if _, err := fake.Reply(id, "<p>We rebooted it.</p><p>All good?</p>", fakesupportpal.StatusAwaiting); err != nil {
		t.Fatal(err)
	}
	upd, err := h.Helpdesk().ListUpdatedTickets(ctx(t), &pb.ListUpdatedTicketsRequest{UpdatedSince: polled})
	if err != nil || len(upd.GetTickets()) != 1 {
		t.Fatalf("ListUpdatedTickets after a reply: %v, %v", upd, err)
	}
	if s := upd.GetTickets()[0].GetStatus(); s.GetState() != "waiting_on_customer" || s.GetName() != "Awaiting Reply" {
		t.Errorf("status %v, want waiting_on_customer (Awaiting Reply)", s)
	}
	got, err := h.Helpdesk().GetTicket(ctx(t), &pb.GetTicketRequest{TicketId: resp.GetTicketId(), MessagesAfter: polled})
	if err != nil || len(got.GetMessages()) != 1 {
		t.Fatalf("GetTicket: %v, %v", got, err)
	}
	if m := got.GetMessages()[0]; m.GetAuthorRole() != "staff" || m.GetText() != "We rebooted it.\nAll good?" {
		t.Errorf("reply %v: want the operator's text as plain text", m)
	}
}

// TestAddMessageOncePerKey: the customer's later message is posted once
// per key, as the ticket's user, escaped.
func TestAddMessageOncePerKey(t *testing.T) {
	t.Parallel()
	fake, h, _ := setup(t, nil)
	resp, err := open(t, h, "k1", "help")
	if err != nil {
		t.Fatalf("OpenTicket: %v", err)
	}
	req := &pb.AddMessageRequest{IdempotencyKey: "m1", TicketId: resp.GetTicketId(), Customer: customer, Text: "still <b>down</b>"}
	fake.LoseNext("POST /api/ticket/message", 1)
	if _, err := h.Helpdesk().AddMessage(ctx(t), req); sdk.KindOf(err) != sdk.Unavailable {
		t.Fatalf("AddMessage with a lost answer: %v", err)
	}
	a, err := h.Helpdesk().AddMessage(ctx(t), req)
	if err != nil {
		t.Fatalf("AddMessage retry: %v", err)
	}
	id, _ := strconv.ParseInt(resp.GetTicketId(), 10, 64)
	ms := fake.Messages(id)
	if len(ms) != 2 || strconv.FormatInt(ms[1].ID, 10) != a.GetMessageId() || !strings.Contains(ms[1].Text, "still &lt;b&gt;down&lt;/b&gt;") {
		t.Errorf("messages %+v, want the transcript and one escaped message %s", ms, a.GetMessageId())
	}
	other := &pb.AddMessageRequest{IdempotencyKey: "m2", TicketId: resp.GetTicketId(),
		Customer: &pb.Customer{Email: "eve@example.com"}, Text: "hi"}
	if _, err := h.Helpdesk().AddMessage(ctx(t), other); sdk.KindOf(err) != sdk.NotFound {
		t.Errorf("AddMessage by another customer: %v, want not found", err)
	}
}

// TestErrorsMapToKinds: a bad token is Unauthenticated; an error envelope
// on HTTP 200 is a failure (InvalidInput), not a success; a 503 is
// Unavailable; an unknown ticket is NotFound.
func TestErrorsMapToKinds(t *testing.T) {
	t.Parallel()
	_, bad, _ := setup(t, map[string]any{"api_token": "wrong"})
	if _, err := open(t, bad, "k", "x"); sdk.KindOf(err) != sdk.Unauthenticated {
		t.Errorf("bad token: %v", err)
	}
	fake, h, _ := setup(t, nil)
	fake.FailNext("POST /api/ticket/ticket", fault.Failure{Status: 200, Message: "The selected department is invalid."})
	if _, err := open(t, h, "k200", "x"); sdk.KindOf(err) != sdk.InvalidInput || !strings.Contains(err.Error(), "department is invalid") {
		t.Errorf("error envelope on 200: %v, want invalid input naming the message", err)
	}
	fake.FailNext("POST /api/ticket/ticket", fault.Failure{Status: 503})
	if _, err := open(t, h, "k503", "x"); sdk.KindOf(err) != sdk.Unavailable {
		t.Errorf("503: %v", err)
	}
	if _, err := h.Helpdesk().GetTicket(ctx(t), &pb.GetTicketRequest{TicketId: "999999"}); sdk.KindOf(err) != sdk.NotFound {
		t.Errorf("unknown ticket: %v", err)
	}
}

// TestListUpdatedTicketsPages: pages follow SupportPal's start/limit until
// the count is reached.
func TestListUpdatedTicketsPages(t *testing.T) {
	t.Parallel()
	_, h, _ := setup(t, nil)
	for i := range 5 {
		if _, err := open(t, h, "k"+strconv.Itoa(i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	tok := ""
	for pages := 0; pages < 10; pages++ {
		resp, err := h.Helpdesk().ListUpdatedTickets(ctx(t), &pb.ListUpdatedTicketsRequest{PageSize: 2, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range resp.GetTickets() {
			ids = append(ids, tk.GetTicketId())
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	if len(ids) != 5 {
		t.Errorf("tickets over pages %v, want 5", ids)
	}
}
