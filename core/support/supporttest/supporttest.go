// Package supporttest serves the support assistant's plugins in tests: an
// assistant whose answers the test scripts and a helpdesk that keeps its
// tickets in memory. Both are real plugins (sdk.Plugin) that a test serves
// in process behind a plugin host (pluginhosttest.Start, or config.Reattach
// for a whole app). They stand in for the Anthropic and SupportPal plugins,
// which are main packages the core cannot import; tests/ runs those as
// processes against their fakes.
package supporttest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Assistant is an assistant plugin whose next answer the test sets (Set):
// it streams the answer word by word, then the finished answer citing the
// ids it was given, and keeps every request it was sent (Requests).
type Assistant struct {
	mu       sync.Mutex
	reqs     []*pb.AnswerRequest
	answer   string
	cite     []string
	escalate bool
	usage    *pb.TokenUsage
	// gate, when set, holds each answer after its first piece until
	// closed.
	gate chan struct{}
}

// NewAssistant returns an assistant answering "Restart it from the power
// menu." at 900 input and 100 output tokens.
func NewAssistant() *Assistant {
	return &Assistant{answer: "Restart it from the power menu.", usage: &pb.TokenUsage{InputTokens: 900, OutputTokens: 100}}
}

// Describe names the plugin "assistant".
func (*Assistant) Describe() sdk.Description {
	return sdk.Description{Name: "assistant", Version: "1.0.0", Schema: sdk.NewSchema()}
}

// Configure accepts any config.
func (*Assistant) Configure(context.Context, sdk.Config) error { return nil }

// Health is always healthy.
func (*Assistant) Health(context.Context) error { return nil }

// Answer is not used by the core: it streams.
func (*Assistant) Answer(context.Context, *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	return nil, sdk.Errorf(sdk.NotSupported, "stream only")
}

// StreamAnswer streams the scripted answer.
func (a *Assistant) StreamAnswer(ctx context.Context, r *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error {
	a.mu.Lock()
	a.reqs = append(a.reqs, proto.Clone(r.GetRequest()).(*pb.AnswerRequest))
	answer, cite, esc, usage, gate := a.answer, a.cite, a.escalate, a.usage, a.gate
	a.mu.Unlock()
	for i, w := range strings.SplitAfter(answer, " ") {
		if err := send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Text{Text: w}}); err != nil {
			return err
		}
		if i == 0 && gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	done := &pb.AnswerResponse{Answer: answer, CitedDocumentIds: cite, Escalate: esc, Usage: usage, StopReason: "end_turn"}
	if esc {
		done.Reason, done.StopReason = "the customer needs a refund", "escalate"
	}
	return send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Done{Done: done}})
}

// Set scripts the next answers: their text, the document ids they cite,
// and whether they ask for a human.
func (a *Assistant) Set(answer string, cite []string, escalate bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answer, a.cite, a.escalate = answer, cite, escalate
}

// Hold makes each answer wait after its first piece until release is
// called.
func (a *Assistant) Hold() (release func()) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := make(chan struct{})
	a.gate = g
	var once sync.Once
	return func() { once.Do(func() { close(g) }) }
}

// Requests returns the requests the assistant was sent, oldest first.
func (a *Assistant) Requests() []*pb.AnswerRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]*pb.AnswerRequest(nil), a.reqs...)
}

// Helpdesk is a helpdesk plugin that keeps tickets in memory, opens one
// ticket per idempotency key (numbered from 10001), and answers GetTicket
// with the replies the test adds (Reply).
type Helpdesk struct {
	mu      sync.Mutex
	opens   []*pb.OpenTicketRequest
	byKey   map[string]*pb.OpenTicketResponse
	tickets map[string]*pb.GetTicketResponse
	failN   int
	// adds are the AddMessage calls; posted the message each key added.
	adds       []*pb.AddMessageRequest
	posted     map[string]*pb.TicketMessage
	failAddN   int
	nextPosted int
}

// NewHelpdesk returns an empty helpdesk.
func NewHelpdesk() *Helpdesk {
	return &Helpdesk{byKey: map[string]*pb.OpenTicketResponse{}, tickets: map[string]*pb.GetTicketResponse{}, posted: map[string]*pb.TicketMessage{}}
}

// Describe names the plugin "helpdesk".
func (*Helpdesk) Describe() sdk.Description {
	return sdk.Description{Name: "helpdesk", Version: "1.0.0", Schema: sdk.NewSchema()}
}

// Configure accepts any config.
func (*Helpdesk) Configure(context.Context, sdk.Config) error { return nil }

// Health is always healthy.
func (*Helpdesk) Health(context.Context) error { return nil }

// OpenTicket opens a ticket, or returns the one opened with the same key.
func (h *Helpdesk) OpenTicket(_ context.Context, r *pb.OpenTicketRequest) (*pb.OpenTicketResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opens = append(h.opens, proto.Clone(r).(*pb.OpenTicketRequest))
	if h.failN > 0 {
		h.failN--
		return nil, sdk.UnavailableError(0, "helpdesk down")
	}
	if t, ok := h.byKey[r.GetIdempotencyKey()]; ok {
		return t, nil
	}
	n := 10000 + len(h.byKey) + 1
	t := &pb.OpenTicketResponse{TicketId: fmt.Sprint(n), Number: fmt.Sprint(n), Url: fmt.Sprintf("https://help.example.com/tickets/%d", n)}
	h.byKey[r.GetIdempotencyKey()] = t
	h.tickets[t.TicketId] = &pb.GetTicketResponse{Ticket: &pb.Ticket{TicketId: t.TicketId, Number: t.Number, Url: t.Url,
		Status: &pb.TicketStatus{State: "open", Name: "Open"}}}
	return t, nil
}

// AddMessage posts the customer's message on the ticket once per key, as
// the real helpdesks do: a retry with the same key returns the message
// the first call added. A customer's message reopens a closed ticket
// (SupportPal's behaviour).
func (h *Helpdesk) AddMessage(_ context.Context, r *pb.AddMessageRequest) (*pb.AddMessageResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adds = append(h.adds, proto.Clone(r).(*pb.AddMessageRequest))
	if h.failAddN > 0 {
		h.failAddN--
		return nil, sdk.UnavailableError(0, "helpdesk down")
	}
	if m, ok := h.posted[r.GetIdempotencyKey()]; ok {
		return &pb.AddMessageResponse{MessageId: m.Id}, nil
	}
	t, ok := h.tickets[r.GetTicketId()]
	if !ok {
		return nil, sdk.Errorf(sdk.NotFound, "no ticket")
	}
	h.nextPosted++
	m := &pb.TicketMessage{Id: fmt.Sprintf("c%d", h.nextPosted), AuthorRole: "customer", AuthorName: r.GetCustomer().GetName(), Text: r.GetText()}
	t.Messages = append(t.Messages, m)
	if t.Ticket.GetStatus().GetState() == "closed" {
		t.Ticket.Status = &pb.TicketStatus{State: "open", Name: "Open"}
	}
	h.posted[r.GetIdempotencyKey()] = m
	return &pb.AddMessageResponse{MessageId: m.Id}, nil
}

// FailNextAdds makes the next n AddMessage calls fail as unavailable.
func (h *Helpdesk) FailNextAdds(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failAddN = n
}

// Added returns the AddMessage requests, oldest first.
func (h *Helpdesk) Added() []*pb.AddMessageRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*pb.AddMessageRequest(nil), h.adds...)
}

// Messages returns the ticket's messages as the helpdesk shows them:
// operators' replies and the customer's messages, in order.
func (h *Helpdesk) Messages(ticketID string) []*pb.TicketMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tickets[ticketID]
	if !ok {
		return nil
	}
	out := make([]*pb.TicketMessage, 0, len(t.Messages))
	for _, m := range t.Messages {
		out = append(out, proto.Clone(m).(*pb.TicketMessage))
	}
	return out
}

// GetTicket returns the ticket and its messages after the asked time.
func (h *Helpdesk) GetTicket(_ context.Context, r *pb.GetTicketRequest) (*pb.GetTicketResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.tickets[r.GetTicketId()]
	if !ok {
		return nil, sdk.Errorf(sdk.NotFound, "no ticket")
	}
	out := &pb.GetTicketResponse{Ticket: t.Ticket}
	for _, m := range t.Messages {
		if m.GetCreatedAt() > r.GetMessagesAfter() {
			out.Messages = append(out.Messages, m)
		}
	}
	return out, nil
}

// ListUpdatedTickets lists nothing (the core polls GetTicket).
func (h *Helpdesk) ListUpdatedTickets(context.Context, *pb.ListUpdatedTicketsRequest) (*pb.ListUpdatedTicketsResponse, error) {
	return &pb.ListUpdatedTicketsResponse{}, nil
}

// Reply adds an operator's reply (id, text, UNIX time) to a ticket and
// sets its state and status name.
func (h *Helpdesk) Reply(ticketID, id, text string, at int64, state, name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tickets[ticketID]
	t.Messages = append(t.Messages, &pb.TicketMessage{Id: id, AuthorRole: "staff", AuthorName: "Alex", Text: text, CreatedAt: at})
	t.Ticket.Status = &pb.TicketStatus{State: state, Name: name}
}

// FailNext makes the next n OpenTicket calls fail as unavailable.
func (h *Helpdesk) FailNext(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failN = n
}

// Opened returns the OpenTicket requests, oldest first, and how many
// tickets exist.
func (h *Helpdesk) Opened() ([]*pb.OpenTicketRequest, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*pb.OpenTicketRequest(nil), h.opens...), len(h.byKey)
}
