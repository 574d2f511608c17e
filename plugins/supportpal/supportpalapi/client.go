// Package supportpalapi is a typed client for the SupportPal REST API
// (shared/reference/third-party-apis.md, section 10): HTTP Basic auth with
// the API token as user name and "X" as password, the
// {"status","message","data"} envelope (a body with status "error" is a
// failure even with HTTP 200), start/limit pagination and UNIX-second
// times.
package supportpalapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ezscale/platform/plugins/internal/apierror"
	"github.com/ezscale/platform/plugins/internal/rest"
)

// DefaultLimit is SupportPal's default page size.
const DefaultLimit = 50

// Client calls one SupportPal install. BaseURL is the API root,
// https://help.example.com[/install-path]/api.
type Client struct {
	rest *rest.Client
}

// New returns a client for baseURL authenticating with token.
func New(baseURL, token string, httpClient *http.Client, timeout time.Duration) (*Client, error) {
	rc, err := rest.New(baseURL, httpClient, timeout)
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "ezscale-plugin-supportpal"
	rc.PrepareFunc = func(r *http.Request) { r.SetBasicAuth(token, "X") }
	rc.DecodeErrorFunc = func(e *apierror.Error, body []byte) {
		var env envelope
		if json.Unmarshal(body, &env) == nil && env.Message != "" {
			e.Message, e.Messages = env.Message, []string{env.Message}
		}
	}
	rc.BodyErrorFunc = func(body []byte) string {
		var env envelope
		if json.Unmarshal(body, &env) == nil && env.Status == "error" {
			if env.Message == "" {
				return "SupportPal reported an error"
			}
			return env.Message
		}
		return ""
	}
	return &Client{rest: rc}, nil
}

type envelope struct {
	Status  string          `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Count   int             `json:"count"`
}

// User is a SupportPal user (customer or operator).
type User struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
}

// Named is an {id, name} object (status, priority, department).
type Named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Ticket is a ticket (the fields the plugin uses).
type Ticket struct {
	ID            int64  `json:"id"`
	Number        string `json:"number"`
	DepartmentID  int64  `json:"department_id"`
	BrandID       int64  `json:"brand_id"`
	UserID        int64  `json:"user_id"`
	StatusID      int64  `json:"status_id"`
	PriorityID    int64  `json:"priority_id"`
	Subject       string `json:"subject"`
	MessagesCount int    `json:"messages_count"`
	LastReplyTime int64  `json:"last_reply_time"`
	CreatedAt     int64  `json:"created_at"`
	UpdatedAt     int64  `json:"updated_at"`
	FrontendURL   string `json:"frontend_url"`
	OperatorURL   string `json:"operator_url"`
	Status        Named  `json:"status"`
	Priority      Named  `json:"priority"`
	User          User   `json:"user"`
}

// Message is a ticket message.
type Message struct {
	ID           int64  `json:"id"`
	TicketID     int64  `json:"ticket_id"`
	UserID       int64  `json:"user_id"`
	UserName     string `json:"user_name"`
	Type         int    `json:"type"` // 0 reply, 1 operator note
	Text         string `json:"text"`
	PurifiedText string `json:"purified_text"`
	IsDraft      int    `json:"is_draft"`
	CreatedAt    int64  `json:"created_at"`
}

// CreateUser is the body of POST /user/user.
type CreateUser struct {
	Email     string `json:"email"`
	FirstName string `json:"firstname,omitempty"`
	LastName  string `json:"lastname,omitempty"`
	BrandID   int64  `json:"brand_id,omitempty"`
}

// CreateTicket is the body of POST /ticket/ticket.
type CreateTicket struct {
	User          int64  `json:"user"`
	Department    int64  `json:"department"`
	Status        int64  `json:"status"`
	Priority      int64  `json:"priority"`
	Subject       string `json:"subject"`
	Text          string `json:"text"`
	Brand         int64  `json:"brand,omitempty"`
	SendUserEmail int    `json:"send_user_email"`
}

// CreateMessage is the body of POST /ticket/message.
type CreateMessage struct {
	TicketID    int64  `json:"ticket_id"`
	UserID      int64  `json:"user_id"`
	Text        string `json:"text"`
	MessageType int    `json:"message_type"`
}

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body, out any) (int, error) {
	var env envelope
	if _, err := c.rest.Do(ctx, rest.Request{Method: method, Path: path, Query: q, Body: body}, &env); err != nil {
		return 0, err
	}
	if out != nil && len(env.Data) > 0 {
		if err := json.Unmarshal(env.Data, out); err != nil {
			return 0, fmt.Errorf("error decoding %s %s data: %w", method, path, err)
		}
	}
	return env.Count, nil
}

// FindUserByEmail returns the user with that email, or nil.
func (c *Client) FindUserByEmail(ctx context.Context, email string, brandID int64) (*User, error) {
	q := url.Values{"email": {email}}
	if brandID > 0 {
		q.Set("brand_id", strconv.FormatInt(brandID, 10))
	}
	var users []User
	if _, err := c.do(ctx, http.MethodGet, "/user/user", q, nil, &users); err != nil {
		return nil, err
	}
	for i := range users {
		if users[i].Email == email {
			return &users[i], nil
		}
	}
	return nil, nil
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, u CreateUser) (*User, error) {
	var out User
	_, err := c.do(ctx, http.MethodPost, "/user/user", nil, u, &out)
	return &out, err
}

// CreateTicket opens a ticket.
func (c *Client) CreateTicket(ctx context.Context, t CreateTicket) (*Ticket, error) {
	var out Ticket
	_, err := c.do(ctx, http.MethodPost, "/ticket/ticket", nil, t, &out)
	return &out, err
}

// GetTicket reads a ticket.
func (c *Client) GetTicket(ctx context.Context, id int64) (*Ticket, error) {
	var out Ticket
	_, err := c.do(ctx, http.MethodGet, "/ticket/ticket/"+strconv.FormatInt(id, 10), nil, nil, &out)
	return &out, err
}

// TicketFilter narrows ListTickets.
type TicketFilter struct {
	UpdatedAtMin int64 // UNIX seconds; 0: no filter
	Department   int64
	Start        int // 1-based offset; 0: 1
	Limit        int // 0: DefaultLimit
}

// ListTickets lists one page of tickets, oldest update first, and the
// total count of matches.
func (c *Client) ListTickets(ctx context.Context, f TicketFilter) ([]Ticket, int, error) {
	q := pageQuery(f.Start, f.Limit)
	q.Set("order_column", "updated_at")
	q.Set("order_direction", "asc")
	if f.UpdatedAtMin > 0 {
		q.Set("updated_at_min", strconv.FormatInt(f.UpdatedAtMin, 10))
	}
	if f.Department > 0 {
		q.Set("department", strconv.FormatInt(f.Department, 10))
	}
	var out []Ticket
	n, err := c.do(ctx, http.MethodGet, "/ticket/ticket", q, nil, &out)
	return out, n, err
}

// CreateMessage posts a message on a ticket.
func (c *Client) CreateMessage(ctx context.Context, m CreateMessage) (*Message, error) {
	var out Message
	_, err := c.do(ctx, http.MethodPost, "/ticket/message", nil, m, &out)
	return &out, err
}

// ListMessages lists every message of a ticket, paging with start/limit
// until a page comes back empty.
func (c *Client) ListMessages(ctx context.Context, ticketID int64) ([]Message, error) {
	var all []Message
	for start := 1; ; start += DefaultLimit {
		q := pageQuery(start, DefaultLimit)
		q.Set("ticket_id", strconv.FormatInt(ticketID, 10))
		var page []Message
		if _, err := c.do(ctx, http.MethodGet, "/ticket/message", q, nil, &page); err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return all, nil
		}
		all = append(all, page...)
		if len(page) < DefaultLimit {
			return all, nil
		}
	}
}

func pageQuery(start, limit int) url.Values {
	if start <= 0 {
		start = 1
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	return url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(limit)}}
}
