package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ezscale/platform/sdk"
	"github.com/ezscale/platform/sdk/conformance"
	"github.com/ezscale/platform/sdk/plugintest"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// memAssistant answers by echoing; with careless set it cites an article
// the request did not carry and reports no usage.
type memAssistant struct{ careless bool }

func (*memAssistant) Describe() sdk.Description {
	return sdk.Description{Name: "mem-assistant", Version: "1.0.0", Schema: sdk.NewSchema()}
}
func (*memAssistant) Configure(context.Context, sdk.Config) error { return nil }
func (*memAssistant) Health(context.Context) error                { return nil }

func (a *memAssistant) reply(r *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	if r.GetQuestion() == "" {
		return nil, sdk.FieldErrorf("question", "is required")
	}
	if strings.Contains(r.GetQuestion(), "human") {
		return &pb.AnswerResponse{Answer: "Handing over.", Escalate: true, Reason: "asked for a human",
			Usage: &pb.TokenUsage{InputTokens: 5, OutputTokens: 2}}, nil
	}
	out := &pb.AnswerResponse{Answer: "Echo: " + r.GetQuestion(), Usage: &pb.TokenUsage{InputTokens: 5, OutputTokens: 3}}
	for _, d := range r.GetDocuments() {
		out.CitedDocumentIds = append(out.CitedDocumentIds, d.GetId())
	}
	if a.careless {
		out.Usage = nil
		out.CitedDocumentIds = append(out.CitedDocumentIds, "invented.md")
	}
	return out, nil
}

func (a *memAssistant) Answer(_ context.Context, r *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	return a.reply(r)
}

func (a *memAssistant) StreamAnswer(_ context.Context, r *pb.StreamAnswerRequest, send func(*pb.StreamAnswerResponse) error) error {
	out, err := a.reply(r.GetRequest())
	if err != nil {
		return err
	}
	for _, w := range strings.SplitAfter(out.GetAnswer(), " ") {
		if err := send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Text{Text: w}}); err != nil {
			return err
		}
	}
	return send(&pb.StreamAnswerResponse{Event: &pb.StreamAnswerResponse_Done{Done: out}})
}

var assistantFixture = conformance.AssistantFixture{
	Question:   &pb.AnswerRequest{Question: "How do I reboot?", Documents: []*pb.KnowledgeDocument{{Id: "reboot.md", Title: "Reboot", Text: "Press Reboot."}}},
	Escalating: &pb.AnswerRequest{Question: "A human please"},
}

// TestAssistantStream: a plugin keeping the streaming contract passes.
func TestAssistantStream(t *testing.T) {
	t.Parallel()
	conformance.AssistantStream(t, plugintest.New(t, &memAssistant{}), assistantFixture)
}

// memHelpdesk keeps tickets in memory; with forgetful set it opens a new
// ticket for every call, ignoring the key.
type memHelpdesk struct {
	forgetful bool
	mu        sync.Mutex
	tickets   map[string]*pb.Ticket
	byKey     map[string]string
	messages  map[string][]*pb.TicketMessage
	msgByKey  map[string]string
	next      int
}

func newMemHelpdesk() *memHelpdesk {
	return &memHelpdesk{tickets: map[string]*pb.Ticket{}, byKey: map[string]string{}, messages: map[string][]*pb.TicketMessage{},
		msgByKey: map[string]string{}}
}

func (*memHelpdesk) Describe() sdk.Description {
	return sdk.Description{Name: "mem-helpdesk", Version: "1.0.0", Schema: sdk.NewSchema()}
}
func (*memHelpdesk) Configure(context.Context, sdk.Config) error { return nil }
func (*memHelpdesk) Health(context.Context) error                { return nil }

func (m *memHelpdesk) OpenTicket(_ context.Context, r *pb.OpenTicketRequest) (*pb.OpenTicketResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byKey[r.GetIdempotencyKey()]
	if !ok || m.forgetful {
		m.next++
		id = strconv.Itoa(m.next)
		m.byKey[r.GetIdempotencyKey()] = id
		m.tickets[id] = &pb.Ticket{TicketId: id, Url: "https://help.test/" + id, Status: &pb.TicketStatus{State: "open", Name: "Open"},
			Subject: r.GetSubject(), UpdatedAt: int64(m.next)}
		m.post(id, "customer", r.GetBody())
	}
	return &pb.OpenTicketResponse{TicketId: id, Url: m.tickets[id].GetUrl()}, nil
}

func (m *memHelpdesk) post(id, role, text string) string {
	m.next++
	mid := "m" + strconv.Itoa(m.next)
	m.messages[id] = append(m.messages[id], &pb.TicketMessage{Id: mid, AuthorRole: role, Text: text, CreatedAt: int64(m.next)})
	m.tickets[id].UpdatedAt = int64(m.next)
	return mid
}

func (m *memHelpdesk) AddMessage(_ context.Context, r *pb.AddMessageRequest) (*pb.AddMessageResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tickets[r.GetTicketId()] == nil {
		return nil, sdk.Errorf(sdk.NotFound, "no ticket %s", r.GetTicketId())
	}
	mid, ok := m.msgByKey[r.GetIdempotencyKey()]
	if !ok {
		mid = m.post(r.GetTicketId(), "customer", r.GetText())
		m.msgByKey[r.GetIdempotencyKey()] = mid
	}
	return &pb.AddMessageResponse{MessageId: mid}, nil
}

func (m *memHelpdesk) GetTicket(_ context.Context, r *pb.GetTicketRequest) (*pb.GetTicketResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.tickets[r.GetTicketId()]
	if t == nil {
		return nil, sdk.Errorf(sdk.NotFound, "no ticket %s", r.GetTicketId())
	}
	out := &pb.GetTicketResponse{Ticket: t}
	for _, msg := range m.messages[t.GetTicketId()] {
		if msg.GetCreatedAt() > r.GetMessagesAfter() {
			out.Messages = append(out.Messages, msg)
		}
	}
	return out, nil
}

func (m *memHelpdesk) ListUpdatedTickets(_ context.Context, r *pb.ListUpdatedTicketsRequest) (*pb.ListUpdatedTicketsResponse, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	start, _ := strconv.Atoi(r.GetPageToken())
	out := &pb.ListUpdatedTicketsResponse{}
	for i := start + 1; i <= m.next; i++ {
		if t := m.tickets[strconv.Itoa(i)]; t != nil && t.GetUpdatedAt() >= r.GetUpdatedSince() {
			out.Tickets = append(out.Tickets, t)
			if i < m.next {
				out.NextPageToken = strconv.Itoa(i)
			}
			break
		}
	}
	return out, nil
}

func (m *memHelpdesk) staffReply(id, text string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.post(id, "staff", text)
	return nil
}

var helpdeskTicket = &pb.OpenTicketRequest{Customer: &pb.Customer{AccountId: "a1", Email: "ada@example.com"}, Subject: "Down", Body: "It is down."}

// TestHelpdeskTickets: a helpdesk keeping the contract passes.
func TestHelpdeskTickets(t *testing.T) {
	t.Parallel()
	m := newMemHelpdesk()
	conformance.HelpdeskTickets(t, plugintest.New(t, m), conformance.HelpdeskFixture{Ticket: helpdeskTicket,
		StaffReply: m.staffReply, UnknownTicketID: "nope"})
}

// supportFailureEnv makes TestBrokenSupportPluginsRun run the suites on
// plugins that must fail them; TestSuitesCatchBrokenSupportPlugins reads
// its output.
const supportFailureEnv = "EZSCALE_CONFORMANCE_EXPECT_SUPPORT_FAILURE"

func TestBrokenSupportPluginsRun(t *testing.T) {
	if os.Getenv(supportFailureEnv) != "1" {
		t.Skip("run by TestSuitesCatchBrokenSupportPlugins")
	}
	conformance.AssistantStream(t, plugintest.New(t, &memAssistant{careless: true}), assistantFixture)
	m := newMemHelpdesk()
	m.forgetful = true
	conformance.HelpdeskTickets(t, plugintest.New(t, m), conformance.HelpdeskFixture{Ticket: helpdeskTicket, UnknownTicketID: "nope"})
}

// TestSuitesCatchBrokenSupportPlugins: an assistant that cites an article
// it was not given and reports no usage, and a helpdesk that opens a
// second ticket for a repeated key, fail their suites.
func TestSuitesCatchBrokenSupportPlugins(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenSupportPluginsRun$", "-test.v")
	cmd.Env = append(os.Environ(), supportFailureEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suites passed broken plugins:\n%s", out)
	}
	for _, want := range []string{
		"conformance: assistant: StreamAnswer: usage",
		`conformance: assistant: StreamAnswer: cited "invented.md"`,
		"conformance: helpdesk: OpenTicket repeated",
		"--- PASS: TestBrokenSupportPluginsRun/Escalation",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	}
}
