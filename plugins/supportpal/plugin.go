package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	nethtml "golang.org/x/net/html"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/errkind"
	"github.com/ezscale/platform/plugins/internal/pluginconf"
	"github.com/ezscale/platform/plugins/supportpal/supportpalapi"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Version is the plugin's version, reported by Describe.
const Version = "0.1.0"

// reconcileWindow is how far back OpenTicket looks for a ticket an earlier
// attempt with the same key may have opened (the core retries within
// hours).
const reconcileWindow = 48 * time.Hour

// maxPageSize bounds ListUpdatedTickets pages.
const maxPageSize = 200

var (
	opens = sdk.NewOutcomes[*pb.OpenTicketResponse]("supportpal.open_ticket")
	posts = sdk.NewOutcomes[*pb.AddMessageResponse]("supportpal.add_message")
)

// Plugin is the SupportPal helpdesk. Configure may swap the settings while
// calls run, so calls take them under a read lock.
type Plugin struct {
	*pluginconf.Holder[*settings]
	// now is the clock (tests replace it).
	now func() time.Time
}

// Interface guards: the compiler checks the plugin's kinds.
var (
	_ sdk.Plugin          = (*Plugin)(nil)
	_ sdk.ConfigValidator = (*Plugin)(nil)
	_ sdk.Helpdesk        = (*Plugin)(nil)
)

// New returns an unconfigured plugin. Configure applies a config without
// calling SupportPal.
func New() *Plugin {
	return &Plugin{Holder: pluginconf.New(sdk.Description{Name: "supportpal", Version: Version, Schema: schema()}, parseConfig)}
}

func (p *Plugin) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// fromAPI maps client errors onto SDK kinds. SupportPal reports a refusal
// as {"status":"error"} even with HTTP 200: that is the request's fault
// (a bad department, a taken email), so InvalidInput.
func fromAPI(err error, what string) error {
	if e, ok := apierror.As(err); ok && e.StatusCode == http.StatusOK {
		return sdk.Errorf(sdk.InvalidInput, "%s: %s", what, e.Message)
	}
	return errkind.FromAPI(err, what)
}

// marker is the hidden reference an idempotency key leaves in the HTML of
// what it posted, so a retry after a lost answer finds it.
func marker(op, key string) string {
	h := sha256.Sum256([]byte(op + "\x00" + key))
	return "<!-- ezscale:" + hex.EncodeToString(h[:12]) + " -->"
}

// toHTML escapes plain text for SupportPal, which takes HTML: markup in
// the text (a transcript, a customer's message) is shown, never run.
func toHTML(text string) string {
	return "<p>" + strings.ReplaceAll(html.EscapeString(strings.TrimSpace(text)), "\n", "<br />\n") + "</p>"
}

// OpenTicket finds or creates the user by email and opens the ticket,
// once per idempotency key.
func (p *Plugin) OpenTicket(ctx context.Context, req *pb.OpenTicketRequest) (*pb.OpenTicketResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	email := strings.TrimSpace(req.GetCustomer().GetEmail())
	switch {
	case !strings.Contains(email, "@"):
		return nil, sdk.FieldErrorf("customer.email", "is required")
	case strings.TrimSpace(req.GetSubject()) == "":
		return nil, sdk.FieldErrorf("subject", "is required")
	case strings.TrimSpace(req.GetBody()) == "":
		return nil, sdk.FieldErrorf("body", "is required")
	}
	department := s.departmentID
	if d := req.GetDepartment(); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n <= 0 {
			return nil, sdk.FieldErrorf("department", "must be a SupportPal department id")
		}
		department = n
	}
	prio := req.GetPriority()
	if prio == "" {
		prio = s.defaultPriority
	}
	priority, ok := s.priorities[prio]
	if !ok {
		return nil, sdk.FieldErrorf("priority", "must be low, medium, high or urgent")
	}
	return opens.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.OpenTicketResponse, error) {
		u, err := p.ensureUser(ctx, s, req.GetCustomer())
		if err != nil {
			return nil, err
		}
		mark := marker("open", req.GetIdempotencyKey())
		if t, err := p.findOpened(ctx, s, department, u.ID, req.GetSubject(), mark); err != nil || t != nil {
			if err != nil {
				return nil, fromAPI(err, "looking for an earlier attempt's ticket")
			}
			return openResponse(t), nil
		}
		send := 0
		if s.sendUserEmail {
			send = 1
		}
		t, err := s.client.CreateTicket(ctx, supportpalapi.CreateTicket{
			User: u.ID, Department: department, Status: s.statusID, Priority: priority,
			Subject: req.GetSubject(), Text: toHTML(req.GetBody()) + mark, Brand: s.brandID, SendUserEmail: send,
		})
		if err != nil {
			return nil, fromAPI(err, "opening the ticket")
		}
		return openResponse(t), nil
	})
}

func openResponse(t *supportpalapi.Ticket) *pb.OpenTicketResponse {
	return &pb.OpenTicketResponse{TicketId: strconv.FormatInt(t.ID, 10), Url: t.FrontendURL, Number: t.Number,
		HelpdeskUserId: strconv.FormatInt(t.UserID, 10)}
}

// ensureUser finds the SupportPal user by email or creates it.
func (p *Plugin) ensureUser(ctx context.Context, s *settings, c *pb.Customer) (*supportpalapi.User, error) {
	email := strings.TrimSpace(c.GetEmail())
	u, err := s.client.FindUserByEmail(ctx, email, s.brandID)
	if err != nil {
		return nil, fromAPI(err, "looking up the helpdesk user")
	}
	if u != nil {
		return u, nil
	}
	first, last, _ := strings.Cut(strings.TrimSpace(c.GetName()), " ")
	u, err = s.client.CreateUser(ctx, supportpalapi.CreateUser{Email: email, FirstName: first, LastName: last, BrandID: s.brandID})
	if err != nil {
		// Created meanwhile (another call, or SupportPal answered late)?
		if again, ferr := s.client.FindUserByEmail(ctx, email, s.brandID); ferr == nil && again != nil {
			return again, nil
		}
		return nil, fromAPI(err, "creating the helpdesk user")
	}
	return u, nil
}

// findOpened returns the ticket an earlier attempt with this marker opened
// for the user, if any: a recent ticket of the user with the same subject
// whose first message carries the marker.
func (p *Plugin) findOpened(ctx context.Context, s *settings, department, userID int64, subject, mark string) (*supportpalapi.Ticket, error) {
	since := p.clock().Add(-reconcileWindow).Unix()
	for start := 1; ; start += supportpalapi.DefaultLimit {
		page, _, err := s.client.ListTickets(ctx, supportpalapi.TicketFilter{UpdatedAtMin: since, Department: department, Start: start})
		if err != nil {
			return nil, err
		}
		for i := range page {
			t := &page[i]
			if t.UserID != userID || t.Subject != subject {
				continue
			}
			ms, err := s.client.ListMessages(ctx, t.ID)
			if err != nil {
				return nil, err
			}
			if len(ms) > 0 && strings.Contains(ms[0].Text, mark) {
				return t, nil
			}
		}
		if len(page) < supportpalapi.DefaultLimit {
			return nil, nil
		}
	}
}

// AddMessage posts the customer's message on the ticket, once per key.
func (p *Plugin) AddMessage(ctx context.Context, req *pb.AddMessageRequest) (*pb.AddMessageResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(req.GetTicketId(), 10, 64)
	if err != nil || id <= 0 {
		return nil, sdk.FieldErrorf("ticket_id", "must be a SupportPal ticket id")
	}
	if strings.TrimSpace(req.GetText()) == "" {
		return nil, sdk.FieldErrorf("text", "is required")
	}
	return posts.Do(ctx, req.GetIdempotencyKey(), func(ctx context.Context) (*pb.AddMessageResponse, error) {
		t, err := s.client.GetTicket(ctx, id)
		if err != nil {
			return nil, fromAPI(err, "reading the ticket")
		}
		if e := req.GetCustomer().GetEmail(); e != "" && !strings.EqualFold(e, t.User.Email) {
			return nil, sdk.Errorf(sdk.NotFound, "ticket %d is not this customer's", id)
		}
		mark := marker("message", req.GetIdempotencyKey())
		ms, err := s.client.ListMessages(ctx, id)
		if err != nil {
			return nil, fromAPI(err, "reading the ticket's messages")
		}
		for _, m := range ms {
			if strings.Contains(m.Text, mark) {
				return &pb.AddMessageResponse{MessageId: strconv.FormatInt(m.ID, 10)}, nil
			}
		}
		m, err := s.client.CreateMessage(ctx, supportpalapi.CreateMessage{TicketID: id, UserID: t.UserID, Text: toHTML(req.GetText()) + mark})
		if err != nil {
			return nil, fromAPI(err, "adding the message")
		}
		return &pb.AddMessageResponse{MessageId: strconv.FormatInt(m.ID, 10)}, nil
	})
}

// GetTicket reports the ticket's status and its public messages created
// after messages_after.
func (p *Plugin) GetTicket(ctx context.Context, req *pb.GetTicketRequest) (*pb.GetTicketResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(req.GetTicketId(), 10, 64)
	if err != nil || id <= 0 {
		return nil, sdk.FieldErrorf("ticket_id", "must be a SupportPal ticket id")
	}
	t, err := s.client.GetTicket(ctx, id)
	if err != nil {
		return nil, fromAPI(err, "reading the ticket")
	}
	ms, err := s.client.ListMessages(ctx, id)
	if err != nil {
		return nil, fromAPI(err, "reading the ticket's messages")
	}
	out := &pb.GetTicketResponse{Ticket: p.ticket(s, t)}
	for _, m := range ms {
		if m.Type != 0 || m.IsDraft != 0 || m.CreatedAt <= req.GetMessagesAfter() {
			continue // operator notes and drafts are not the customer's to see
		}
		role := "staff"
		if m.UserID == t.UserID {
			role = "customer"
		}
		text := m.PurifiedText
		if text == "" {
			text = m.Text
		}
		out.Messages = append(out.Messages, &pb.TicketMessage{Id: strconv.FormatInt(m.ID, 10), AuthorRole: role,
			AuthorName: m.UserName, Text: plainText(text), CreatedAt: m.CreatedAt})
	}
	return out, nil
}

// ListUpdatedTickets lists tickets updated at or after updated_since,
// oldest update first; the page token is SupportPal's start offset.
func (p *Plugin) ListUpdatedTickets(ctx context.Context, req *pb.ListUpdatedTicketsRequest) (*pb.ListUpdatedTicketsResponse, error) {
	s, err := p.Settings()
	if err != nil {
		return nil, err
	}
	start := 1
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 1 {
			return nil, sdk.FieldErrorf("page_token", "is not a token this plugin returned")
		}
		start = n
	}
	limit := int(req.GetPageSize())
	if limit <= 0 {
		limit = supportpalapi.DefaultLimit
	}
	limit = min(limit, maxPageSize)
	page, count, err := s.client.ListTickets(ctx, supportpalapi.TicketFilter{UpdatedAtMin: req.GetUpdatedSince(), Start: start, Limit: limit})
	if err != nil {
		return nil, fromAPI(err, "listing updated tickets")
	}
	out := &pb.ListUpdatedTicketsResponse{}
	for i := range page {
		out.Tickets = append(out.Tickets, p.ticket(s, &page[i]))
	}
	if len(page) == limit && start-1+limit < count {
		out.NextPageToken = strconv.Itoa(start + limit)
	}
	return out, nil
}

func (p *Plugin) ticket(s *settings, t *supportpalapi.Ticket) *pb.Ticket {
	name := strings.ToLower(t.Status.Name)
	state := "open"
	switch {
	case s.closed[name]:
		state = "closed"
	case s.waiting[name]:
		state = "waiting_on_customer"
	case name == "":
		state = "unknown"
	}
	return &pb.Ticket{TicketId: strconv.FormatInt(t.ID, 10), Number: t.Number, Url: t.FrontendURL,
		Status: &pb.TicketStatus{State: state, Name: t.Status.Name}, Subject: t.Subject, UpdatedAt: t.UpdatedAt,
		HelpdeskUserId: strconv.FormatInt(t.UserID, 10)}
}

// plainText drops markup and comments, keeping line breaks.
func plainText(s string) string {
	z := nethtml.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case nethtml.ErrorToken:
			return strings.TrimSpace(b.String())
		case nethtml.TextToken:
			b.WriteString(strings.ReplaceAll(string(z.Text()), "\n", ""))
		case nethtml.StartTagToken, nethtml.EndTagToken, nethtml.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "br":
				b.WriteString("\n")
			case "p", "div", "li":
				if tt == nethtml.EndTagToken {
					b.WriteString("\n")
				}
			}
		}
	}
}
