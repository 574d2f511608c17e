package conformance

import (
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// HelpdeskFixture is what the helpdesk tickets suite needs.
type HelpdeskFixture struct {
	// Ticket is opened (its idempotency key is set by the suite).
	Ticket *pb.OpenTicketRequest
	// StaffReply posts a staff reply on a ticket in the plugin's backend (a
	// fake); nil skips the reply checks.
	StaffReply func(ticketID, text string) error
	// UnknownTicketID names no ticket in the backend.
	UnknownTicketID string
}

var ticketStates = map[string]bool{"open": true, "waiting_on_customer": true, "closed": true, "unknown": true}

// HelpdeskTickets runs the helpdesk tickets suite:
//
//   - OpenTicket is refused without a key, returns an id and a URL, and a
//     repeat with the key returns the same ticket;
//   - GetTicket reports the ticket with a known state and the customer's
//     message; an unknown ticket is NotFound;
//   - AddMessage is refused without a key and posts once per key;
//   - ListUpdatedTickets (paged) includes the ticket;
//   - a staff reply shows in GetTicket as a staff message after a time.
func HelpdeskTickets(t *testing.T, h *plugintest.Harness, f HelpdeskFixture) {
	t.Helper()
	on(t, "helpdesk").requireKind(h, sdk.KindHelpdesk)
	Plugin(t, h)
	on(t, "helpdesk").run("Tickets", func(t st) {
		t.Helper()
		c := ctx(t)
		hd := h.Helpdesk()
		req := &pb.OpenTicketRequest{Customer: f.Ticket.GetCustomer(), Subject: f.Ticket.GetSubject(), Body: f.Ticket.GetBody(),
			Department: f.Ticket.GetDepartment(), Priority: f.Ticket.GetPriority()}
		_, err := hd.OpenTicket(c, req)
		t.wantKind("OpenTicket without idempotency_key", err, sdk.InvalidInput)
		req.IdempotencyKey = "conformance-tickets"
		opened, err := hd.OpenTicket(c, req)
		if err != nil || opened.GetTicketId() == "" || opened.GetUrl() == "" {
			t.Fatalf("OpenTicket: %v, %v; want a ticket id and a URL", opened, err)
		}
		again, err := hd.OpenTicket(c, req)
		if err != nil || again.GetTicketId() != opened.GetTicketId() {
			t.Errorf("OpenTicket repeated: %v, %v; want ticket %s again", again, err, opened.GetTicketId())
		}

		got, err := hd.GetTicket(c, &pb.GetTicketRequest{TicketId: opened.GetTicketId()})
		if err != nil {
			t.Fatalf("GetTicket: %v", err)
		}
		if got.GetTicket().GetTicketId() != opened.GetTicketId() || !ticketStates[got.GetTicket().GetStatus().GetState()] {
			t.Errorf("GetTicket: %v, want ticket %s in a known state", got.GetTicket(), opened.GetTicketId())
		}
		if len(got.GetMessages()) == 0 || got.GetMessages()[0].GetAuthorRole() != "customer" {
			t.Errorf("GetTicket: messages %v, want the customer's first", got.GetMessages())
		}
		_, err = hd.GetTicket(c, &pb.GetTicketRequest{TicketId: f.UnknownTicketID})
		t.wantKind("GetTicket of an unknown ticket", err, sdk.NotFound)

		msg := &pb.AddMessageRequest{TicketId: opened.GetTicketId(), Customer: req.GetCustomer(), Text: "one more thing"}
		_, err = hd.AddMessage(c, msg)
		t.wantKind("AddMessage without idempotency_key", err, sdk.InvalidInput)
		msg.IdempotencyKey = "conformance-message"
		m1, err := hd.AddMessage(c, msg)
		if err != nil || m1.GetMessageId() == "" {
			t.Fatalf("AddMessage: %v, %v", m1, err)
		}
		m2, err := hd.AddMessage(c, msg)
		if err != nil || m2.GetMessageId() != m1.GetMessageId() {
			t.Errorf("AddMessage repeated: %v, %v; want message %s again", m2, err, m1.GetMessageId())
		}

		found := false
		tok := ""
		for range 1000 {
			page, err := hd.ListUpdatedTickets(c, &pb.ListUpdatedTicketsRequest{PageToken: tok, PageSize: 1})
			if err != nil {
				t.Fatalf("ListUpdatedTickets: %v", err)
			}
			for _, tk := range page.GetTickets() {
				found = found || tk.GetTicketId() == opened.GetTicketId()
			}
			if tok = page.GetNextPageToken(); tok == "" {
				break
			}
		}
		if !found {
			t.Errorf("ListUpdatedTickets since 0: ticket %s missing", opened.GetTicketId())
		}

		if f.StaffReply == nil {
			return
		}
		last := got.GetMessages()[len(got.GetMessages())-1].GetCreatedAt()
		if err := f.StaffReply(opened.GetTicketId(), "We are on it."); err != nil {
			t.Fatalf("StaffReply: %v", err)
		}
		after, err := hd.GetTicket(c, &pb.GetTicketRequest{TicketId: opened.GetTicketId(), MessagesAfter: last - 1})
		if err != nil {
			t.Fatalf("GetTicket after a reply: %v", err)
		}
		staff := false
		for _, m := range after.GetMessages() {
			staff = staff || (m.GetAuthorRole() == "staff" && m.GetText() == "We are on it.")
		}
		if !staff {
			t.Errorf("GetTicket after a staff reply: messages %v, want the reply as a staff message", after.GetMessages())
		}
	})
}
