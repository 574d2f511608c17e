package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/support"
)

// SupportAPI is the AI support assistant: a member's conversations with
// it (start, ask with the answer streamed as Server-Sent Events, escalate
// to a human, rate answers) and the staff list and stats.
type SupportAPI struct {
	Support *support.Service
}

// Routes registers the support routes. A conversation is its user's: the
// account's other members do not see it (404), and staff read it through
// the admin list only.
func (m *SupportAPI) Routes(s *Server) {
	conv := acct + "/support/conversations"
	one := conv + "/{conversation_id}"
	s.Handle(Route{Method: "POST", Path: conv, Auth: User, Members: anyMember, Scope: "account:write", Idempotent: true, Handler: m.start()})
	s.Handle(Route{Method: "GET", Path: conv, Auth: User, Members: anyMember, Scope: "account:read", Handler: m.list()})
	s.Handle(Route{Method: "GET", Path: one, Auth: User, Members: anyMember, Scope: "account:read", Handler: m.get()})
	s.Handle(Route{Method: "POST", Path: one + "/ask", Auth: User, Members: anyMember, Scope: "account:write", Handler: m.ask(s)})
	s.Handle(Route{Method: "POST", Path: one + "/escalate", Auth: User, Members: anyMember, Scope: "account:write", Handler: m.escalate()})
	// Not Idempotent in the request's transaction: a reply calls the
	// helpdesk, which no transaction may wait on. The Idempotency-Key is
	// kept with the stored reply instead (a retry stores and posts one).
	s.Handle(Route{Method: "POST", Path: one + "/replies", Auth: User, Members: anyMember, Scope: "account:write", Handler: m.reply()})
	s.Handle(Route{Method: "POST", Path: acct + "/support/messages/{message_id}/rating", Auth: User, Members: anyMember, Scope: "account:write",
		Handler: m.rate()})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/support/conversations", Auth: Staff, StaffRole: accounts.StaffSupport,
		Scope: "admin:read", Handler: m.adminList})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/support/stats", Auth: Staff, StaffRole: accounts.StaffSupport,
		Scope: "admin:read", Handler: m.stats})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/support/knowledge", Auth: Staff, StaffRole: accounts.StaffSupport,
		Scope: "admin:read", Handler: m.knowledge})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/support/knowledge/reload", Auth: Staff, StaffRole: accounts.StaffAdmin,
		Scope: "admin:write", Handler: m.reloadKnowledge})
}

func userOf(r *http.Request) string { return PrincipalFrom(r.Context()).UserID }

func (m *SupportAPI) start() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in support.StartInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		c, err := m.Support.Start(ctx, account, userOf(r), in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, c)
	})
}

func (m *SupportAPI) list() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		limit, after, err := PageParams(r)
		if err != nil {
			return err
		}
		page, err := m.Support.List(ctx, account, userOf(r), after, limit)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, supportPage(page))
	})
}

func supportPage(page *support.Page) List[support.Conversation] {
	out := List[support.Conversation]{Data: page.Data}
	if page.NextCursor != "" {
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.NextCursor))
	}
	return out
}

func (m *SupportAPI) get() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		c, err := m.Support.Get(ctx, account, userOf(r), mux.Vars(r)["conversation_id"])
		if err != nil {
			return err
		}
		if c.Messages == nil {
			c.Messages = []support.Message{}
		}
		return writeJSON(w, http.StatusOK, supportConversationView{Conversation: c, Messages: c.Messages})
	})
}

// supportConversationView always carries messages (empty, not absent).
type supportConversationView struct {
	*support.Conversation
	Messages []support.Message `json:"messages"`
}

func (m *SupportAPI) escalate() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in support.EscalateInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		c, err := m.Support.Escalate(ctx, account, userOf(r), mux.Vars(r)["conversation_id"], in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	})
}

// reply posts the customer's message to the support team on an escalated
// conversation: 201 with the stored message, whose delivery says whether
// it is on the ticket yet (sent) or waits for the helpdesk (pending).
func (m *SupportAPI) reply() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in support.ReplyInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		in.Key = strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		if len(in.Key) > 255 || !validText(in.Key) {
			return apperr.Field("Idempotency-Key", "must be at most 255 printable characters")
		}
		msg, err := m.Support.Reply(ctx, account, userOf(r), mux.Vars(r)["conversation_id"], in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, msg)
	})
}

// rateInput rates an answer.
type rateInput struct {
	Helpful *bool `json:"helpful"`
}

func (m *SupportAPI) rate() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in rateInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		if in.Helpful == nil {
			return apperr.Field("helpful", "is required (true or false)")
		}
		msg, err := m.Support.Rate(ctx, account, userOf(r), mux.Vars(r)["message_id"], *in.Helpful)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, msg)
	})
}

// ask answers a question as Server-Sent Events: token events as the
// answer is written, then citations, done (the stored answer), and
// escalated when the assistant handed the conversation to a human. A
// refusal before the answer starts is an ordinary problem+json response;
// a failure after it started is an error event carrying the problem.
func (m *SupportAPI) ask(s *Server) HandlerFunc {
	return with(func(_ context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in support.AskInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		// The answer outlives the API's request timeout (the assistant's
		// own timeout bounds it); a client that goes away ends it.
		reqCtx := r.Context()
		ctx, cancel := context.WithCancel(context.WithoutCancel(reqCtx))
		defer cancel()
		stop := context.AfterFunc(reqCtx, func() {
			if errors.Is(reqCtx.Err(), context.Canceled) {
				cancel()
			}
		})
		defer stop()

		rc := http.NewResponseController(w)
		started := false
		emit := func(name string, data any) error {
			if !started {
				started = true
				h := w.Header()
				h.Set("Content-Type", "text/event-stream")
				h.Set("Cache-Control", "no-store")
				h.Set("X-Accel-Buffering", "no")
				w.WriteHeader(http.StatusOK)
			}
			if err, ok := data.(error); ok {
				data = s.streamProblem(r, err)
			}
			b, err := json.Marshal(data)
			if err != nil {
				return err
			}
			_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, b); err != nil {
				cancel()
				return err
			}
			if err := rc.Flush(); err != nil {
				cancel()
				return err
			}
			return nil
		}
		_, err := m.Support.Ask(ctx, account, userOf(r), mux.Vars(r)["conversation_id"], in, emit)
		if err == nil {
			return nil
		}
		if !started {
			return err
		}
		_ = emit(support.EventError, err)
		return nil
	})
}

// streamProblem is the problem an error event carries: an application
// error's own, anything else internal (logged in full).
func (s *Server) streamProblem(r *http.Request, err error) Problem {
	var ae *apperr.Error
	p := problemInternal()
	if errors.As(err, &ae) && ae.Code != apperr.Internal {
		p = problemFrom(ae)
	} else {
		s.Logger.Error("internal error in a stream", "request_id", RequestID(r.Context()), "path", r.URL.Path, "error", err)
	}
	p.RequestID, p.Instance = RequestID(r.Context()), r.URL.Path
	return p
}

func (m *SupportAPI) adminList(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := support.ListFilter{AccountID: q.Get("account_id")}
	if v := q.Get("escalated"); v != "" {
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			return apperr.Field("escalated", "must be true or false")
		}
		f.Escalated = b
	}
	page, err := m.Support.ListAll(r.Context(), f, after, limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, supportPage(page))
}

func (m *SupportAPI) stats(w http.ResponseWriter, r *http.Request) error {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return apperr.Field("days", "must be a whole number from 1 to 365")
		}
		days = n
	}
	st, err := m.Support.Stats(r.Context(), days)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

// knowledge answers this replica's knowledge base: its articles, when they
// were indexed, and the last check of the folder.
func (m *SupportAPI) knowledge(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, m.Support.KnowledgeStatus())
}

// reloadKnowledge re-indexes the knowledge folder on this replica now
// (the others follow at their next check).
func (m *SupportAPI) reloadKnowledge(w http.ResponseWriter, r *http.Request) error {
	st, err := m.Support.ReloadKnowledge(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}
