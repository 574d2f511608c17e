// Package fakesupportpal is an in-memory SupportPal REST API for tests and
// the demo: users, tickets and messages under /api, HTTP Basic auth with
// the token as user name, the {"status","message","data"} envelope with
// "count" on lists, start/limit pagination, UNIX-second times and
// updated_at_min polling. Validation errors are 400 and a duplicate email is
// HTTP 200 with status "error" [inferred: the reference gives no codes; the
// official client treats both as failures].
package fakesupportpal

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ezscale/platform/plugins/internal/fault"
)

// DefaultToken is the API token the fake accepts when Options names none.
const DefaultToken = "supportpal-test-token"

// Seeded ids: the department, statuses and priorities every fake has, and
// its operator.
const (
	DepartmentSupport = 1
	StatusOpen        = 1
	StatusClosed      = 2
	StatusAwaiting    = 3
	OperatorID        = 1
)

// Options configure a fake.
type Options struct {
	Token string
	// BaseURL is the helpdesk's public address, used in frontend_url and
	// operator_url. ["": http:// and the Host the ticket was created on]
	BaseURL string
	// Now is the clock for created_at and updated_at. [time.Now]
	Now func() time.Time
}

type user struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	BrandID   int64  `json:"brand_id"`
	operator  bool
}

type named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type ticket struct {
	ID            int64  `json:"id"`
	Number        string `json:"number"`
	DepartmentID  int64  `json:"department_id"`
	BrandID       int64  `json:"brand_id"`
	ChannelID     int64  `json:"channel_id"`
	UserID        int64  `json:"user_id"`
	StatusID      int64  `json:"status_id"`
	PriorityID    int64  `json:"priority_id"`
	Subject       string `json:"subject"`
	Locked        int    `json:"locked"`
	Internal      int    `json:"internal"`
	MessagesCount int    `json:"messages_count"`
	LastReplyTime int64  `json:"last_reply_time"`
	CreatedAt     int64  `json:"created_at"`
	UpdatedAt     int64  `json:"updated_at"`
	Token         string `json:"token"`
	FrontendURL   string `json:"frontend_url"`
	OperatorURL   string `json:"operator_url"`
	Department    named  `json:"department"`
	Status        named  `json:"status"`
	Priority      named  `json:"priority"`
	User          *user  `json:"user"`
}

// Message is a ticket message as the fake stores and serves it.
type Message struct {
	ID           int64  `json:"id"`
	TicketID     int64  `json:"ticket_id"`
	ChannelID    int64  `json:"channel_id"`
	UserID       int64  `json:"user_id"`
	UserName     string `json:"user_name"`
	By           int    `json:"by"`
	Type         int    `json:"type"`
	Text         string `json:"text"`
	PurifiedText string `json:"purified_text"`
	IsDraft      int    `json:"is_draft"`
	CreatedAt    int64  `json:"created_at"`
}

// Server is the fake; it is an http.Handler. Fault injection comes from
// the embedded Injector, with routes named by their net/http pattern
// ("POST /api/ticket/ticket"), and over HTTP under /__fake/.
type Server struct {
	*fault.Injector
	opts Options
	mux  *http.ServeMux

	mu          sync.Mutex
	users       map[int64]*user
	tickets     map[int64]*ticket
	messages    map[int64][]*Message
	nextID      int64
	statuses    map[int64]string
	priorities  map[int64]string
	departments map[int64]string
}

// New returns a fake seeded with the Support department, the statuses
// Open, Closed and Awaiting Reply, the priorities Low, Medium, High and
// Urgent, and one operator.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		Injector: &fault.Injector{}, opts: opts,
		users:       map[int64]*user{OperatorID: {ID: OperatorID, Email: "operator@helpdesk.test", FirstName: "Olivia", LastName: "Operator", operator: true}},
		tickets:     map[int64]*ticket{},
		messages:    map[int64][]*Message{},
		nextID:      100,
		statuses:    map[int64]string{StatusOpen: "Open", StatusClosed: "Closed", StatusAwaiting: "Awaiting Reply"},
		priorities:  map[int64]string{1: "Low", 2: "Medium", 3: "High", 4: "Urgent"},
		departments: map[int64]string{DepartmentSupport: "Support"},
	}
	s.mux = http.NewServeMux()
	s.handle("GET /api/user/user", s.listUsers)
	s.handle("POST /api/user/user", s.createUser)
	s.handle("GET /api/ticket/ticket", s.listTickets)
	s.handle("POST /api/ticket/ticket", s.createTicket)
	s.handle("GET /api/ticket/ticket/{id}", s.getTicket)
	s.handle("GET /api/ticket/message", s.listMessages)
	s.handle("POST /api/ticket/message", s.createMessage)
	s.handle("GET /api/ticket/status", s.listNamed(s.statuses))
	s.handle("GET /api/ticket/priority", s.listNamed(s.priorities))
	s.handle("GET /api/ticket/department", s.listNamed(s.departments))
	s.mux.Handle(fault.ControlPrefix, s.Injector.ControlHandler())
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) handle(route string, h http.HandlerFunc) {
	s.mux.HandleFunc(route, s.Losing(route, func(w http.ResponseWriter, r *http.Request) {
		if tok, _, ok := r.BasicAuth(); !ok || tok != s.opts.Token {
			writeErr(w, http.StatusUnauthorized, "Unauthenticated.")
			return
		}
		if f, ok := s.Before(r.Context(), route); ok {
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfterSeconds(f.RetryAfter)))
			}
			msg := f.Message
			if msg == "" {
				msg = http.StatusText(f.Status)
			}
			writeErr(w, f.Status, msg)
			return
		}
		h(w, r)
	}))
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "message": msg})
}

func writeData(w http.ResponseWriter, data any, count *int) {
	w.Header().Set("Content-Type", "application/json")
	body := map[string]any{"status": "success", "message": nil, "data": data}
	if count != nil {
		body["count"] = *count
	}
	_ = json.NewEncoder(w).Encode(body)
}

// decode reads a JSON or form body into a map of strings and numbers.
func decode(r *http.Request) map[string]any {
	out := map[string]any{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.NewDecoder(r.Body).Decode(&out)
		return out
	}
	_ = r.ParseForm()
	for k, v := range r.PostForm {
		out[k] = v[0]
	}
	return out
}

func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatInt(int64(v), 10)
	}
	return ""
}

func num(m map[string]any, k string) int64 {
	n, _ := strconv.ParseInt(str(m, k), 10, 64)
	return n
}

// page applies start (1-based) and limit to n items.
func page(r *http.Request, n int) (lo, hi int) {
	start, _ := strconv.Atoi(r.URL.Query().Get("start"))
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if start < 1 {
		start = 1
	}
	if limit < 1 {
		limit = 50
	}
	lo = min(start-1, n)
	hi = min(lo+limit, n)
	return lo, hi
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	email := r.URL.Query().Get("email")
	var out []*user
	for _, u := range s.users {
		if !u.operator && (email == "" || strings.EqualFold(u.Email, email)) {
			out = append(out, u)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	n := len(out)
	lo, hi := page(r, n)
	writeData(w, append([]*user{}, out[lo:hi]...), &n)
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	b := decode(r)
	email := str(b, "email")
	if email == "" || !strings.Contains(email, "@") {
		writeErr(w, http.StatusBadRequest, "The email field is required.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) {
			// SupportPal's envelope reports failures even with HTTP 200.
			writeData200Error(w, "The email has already been taken.")
			return
		}
	}
	s.nextID++
	u := &user{ID: s.nextID, Email: email, FirstName: str(b, "firstname"), LastName: str(b, "lastname"), BrandID: max(num(b, "brand_id"), 1)}
	s.users[u.ID] = u
	writeData(w, u, nil)
}

func writeData200Error(w http.ResponseWriter, msg string) {
	writeErr(w, http.StatusOK, msg)
}

func (s *Server) view(t *ticket) *ticket {
	c := *t
	c.Status = named{t.StatusID, s.statuses[t.StatusID]}
	c.Priority = named{t.PriorityID, s.priorities[t.PriorityID]}
	c.Department = named{t.DepartmentID, s.departments[t.DepartmentID]}
	c.User = s.users[t.UserID]
	c.MessagesCount = len(s.messages[t.ID])
	return &c
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	b := decode(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for _, k := range []string{"department", "status", "priority", "subject", "text"} {
		if str(b, k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		writeErr(w, http.StatusBadRequest, fmt.Sprintf("The %s field is required.", missing[0]))
		return
	}
	if s.departments[num(b, "department")] == "" || s.statuses[num(b, "status")] == "" || s.priorities[num(b, "priority")] == "" {
		writeErr(w, http.StatusBadRequest, "The selected department, status or priority is invalid.")
		return
	}
	uid := num(b, "user")
	if email := str(b, "user_email"); uid == 0 && email != "" {
		for _, u := range s.users {
			if strings.EqualFold(u.Email, email) {
				uid = u.ID
			}
		}
		if uid == 0 {
			s.nextID++
			uid = s.nextID
			s.users[uid] = &user{ID: uid, Email: email, FirstName: str(b, "user_firstname"), LastName: str(b, "user_lastname"), BrandID: 1}
		}
	}
	if u := s.users[uid]; u == nil || u.operator {
		writeErr(w, http.StatusBadRequest, "The selected user is invalid.")
		return
	}
	now := s.opts.Now().Unix()
	s.nextID++
	t := &ticket{ID: s.nextID, Number: strconv.FormatInt(6151000+s.nextID, 10), DepartmentID: num(b, "department"), BrandID: 1,
		ChannelID: 1, UserID: uid, StatusID: num(b, "status"), PriorityID: num(b, "priority"), Subject: str(b, "subject"),
		LastReplyTime: now, CreatedAt: now, UpdatedAt: now, Token: fmt.Sprintf("tok%d", s.nextID)}
	base := s.opts.BaseURL
	if base == "" {
		base = "http://" + r.Host
	}
	t.FrontendURL = fmt.Sprintf("%s/en/tickets/view/%s", base, t.Number)
	t.OperatorURL = fmt.Sprintf("%s/admin/ticket/view/%d", base, t.ID)
	s.tickets[t.ID] = t
	s.addMessage(t, uid, str(b, "text"), 0, now)
	writeData(w, s.view(t), nil)
}

func (s *Server) addMessage(t *ticket, uid int64, text string, typ int, now int64) *Message {
	s.nextID++
	u := s.users[uid]
	by := 1
	if u.operator {
		by = 0
	}
	m := &Message{ID: s.nextID, TicketID: t.ID, ChannelID: 1, UserID: uid, UserName: strings.TrimSpace(u.FirstName + " " + u.LastName),
		By: by, Type: typ, Text: text, PurifiedText: text, CreatedAt: now}
	s.messages[t.ID] = append(s.messages[t.ID], m)
	t.UpdatedAt, t.LastReplyTime = now, now
	return m
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[id]
	if t == nil {
		writeErr(w, http.StatusNotFound, "Ticket not found.")
		return
	}
	writeData(w, s.view(t), nil)
}

func (s *Server) listTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	min, _ := strconv.ParseInt(q.Get("updated_at_min"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*ticket
	for _, t := range s.tickets {
		if t.UpdatedAt < min {
			continue
		}
		if d := q.Get("department"); d != "" && !inList(d, t.DepartmentID) {
			continue
		}
		if st := q.Get("status"); st != "" && !inList(st, t.StatusID) {
			continue
		}
		out = append(out, s.view(t))
	}
	desc := q.Get("order_direction") == "desc"
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if q.Get("order_column") == "updated_at" && a.UpdatedAt != b.UpdatedAt {
			return (a.UpdatedAt < b.UpdatedAt) != desc
		}
		return (a.ID < b.ID) != desc
	})
	n := len(out)
	lo, hi := page(r, n)
	writeData(w, append([]*ticket{}, out[lo:hi]...), &n)
}

func inList(list string, id int64) bool {
	for _, p := range strings.Split(list, ",") {
		if strings.TrimSpace(p) == strconv.FormatInt(id, 10) {
			return true
		}
	}
	return false
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.URL.Query().Get("ticket_id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.messages[id]
	n := len(ms)
	lo, hi := page(r, n)
	writeData(w, append([]*Message{}, ms[lo:hi]...), &n)
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	b := decode(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[num(b, "ticket_id")]
	switch {
	case str(b, "ticket_id") == "" || str(b, "user_id") == "" || str(b, "text") == "":
		writeErr(w, http.StatusBadRequest, "The ticket_id, user_id and text fields are required.")
		return
	case t == nil:
		writeErr(w, http.StatusNotFound, "Ticket not found.")
		return
	case s.users[num(b, "user_id")] == nil:
		writeErr(w, http.StatusBadRequest, "The selected user id is invalid.")
		return
	}
	m := s.addMessage(t, num(b, "user_id"), str(b, "text"), int(num(b, "message_type")), s.opts.Now().Unix())
	writeData(w, m, nil)
}

func (s *Server) listNamed(m map[int64]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []named
		for id, n := range m {
			out = append(out, named{id, n})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		n := len(out)
		writeData(w, out, &n)
	}
}

// Reply posts an operator reply on a ticket (a person answering in the
// helpdesk) and optionally sets its status; it returns the message id.
func (s *Server) Reply(ticketID int64, text string, statusID int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[ticketID]
	if t == nil {
		return 0, fmt.Errorf("no ticket %d", ticketID)
	}
	m := s.addMessage(t, OperatorID, text, 0, s.opts.Now().Unix())
	if statusID > 0 {
		t.StatusID = statusID
	}
	return m.ID, nil
}

// Tickets returns the number of tickets.
func (s *Server) Tickets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tickets)
}

// Messages returns a copy of a ticket's messages.
func (s *Server) Messages(ticketID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages[ticketID] {
		out = append(out, *m)
	}
	return out
}
