package httpapi

import (
	"context"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/ratelimit"
)

// NotificationsAPI serves the notification center, its live stream,
// preferences, one-click unsubscribe and admin announcements.
type NotificationsAPI struct {
	Notify *notify.Service
	// Projects filters the list by project (?project_id=); nil: the
	// filter is ignored.
	Projects *projects.Service
	s        *Server
}

// Routes implements Module.
func (m *NotificationsAPI) Routes(s *Server) {
	m.s = s
	s.Handle(Route{Method: "GET", Path: "/api/v1/me/notifications", Auth: User, Scope: "account:read", Handler: m.list})
	s.Handle(Route{Method: "GET", Path: "/api/v1/me/notifications/unread-count", Auth: User, Scope: "account:read", Handler: m.unreadCount})
	s.Handle(Route{Method: "GET", Path: "/api/v1/me/notifications/stream", Auth: User, Scope: "account:read", Handler: m.stream})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/notifications/read-all", Auth: User, Scope: "account:write", Handler: m.readAll})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/notifications/{id}/read", Auth: User, Scope: "account:write", Handler: m.markRead(true)})
	s.Handle(Route{Method: "POST", Path: "/api/v1/me/notifications/{id}/unread", Auth: User, Scope: "account:write", Handler: m.markRead(false)})
	s.Handle(Route{Method: "GET", Path: "/api/v1/me/notification-preferences", Auth: User, Scope: "account:read", Handler: m.preferences})
	s.Handle(Route{Method: "PATCH", Path: "/api/v1/me/notification-preferences", Auth: User, Scope: "account:write", Handler: m.updatePreferences})

	// Mail providers post one-click unsubscribes from few addresses, so
	// the limit is per IP but generous.
	unsub := &ratelimit.Rule{Limit: 600, Window: time.Minute}
	s.Handle(Route{Method: "POST", Path: "/api/v1/unsubscribe", Auth: Public, RateLimit: unsub, RateBucket: "unsubscribe", Handler: m.unsubscribe})
	s.Handle(Route{Method: "GET", Path: "/api/v1/unsubscribe", Auth: Public, RateLimit: unsub, RateBucket: "unsubscribe", Handler: m.unsubscribePage})

	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/announcements", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Idempotent: true, Handler: m.announce})
}

// NotificationView is the API shape of a notification.
type NotificationView struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Category  string          `json:"category"`
	Title     string          `json:"title"`
	Message   string          `json:"message"`
	Link      string          `json:"link"`
	Data      json.RawMessage `json:"data"`
	AccountID *string         `json:"account_id"`
	Read      bool            `json:"read"`
	ReadAt    *time.Time      `json:"read_at"`
	CreatedAt time.Time       `json:"created_at"`
}

func notificationView(n *notify.Notification) NotificationView {
	data := json.RawMessage(n.Data)
	if !json.Valid(data) {
		data = json.RawMessage("{}")
	}
	return NotificationView{
		ID: n.ID, Type: string(n.Type), Category: string(n.Category), Title: n.Title, Message: n.Message, Link: n.Link,
		Data: data, AccountID: n.AccountID, Read: n.ReadAt != nil, ReadAt: n.ReadAt, CreatedAt: n.CreatedAt,
	}
}

func (m *NotificationsAPI) list(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := notify.ListFilter{Category: notify.Category(q.Get("category")), Limit: limit + 1}
	switch q.Get("unread") {
	case "", "false":
	case "true":
		f.UnreadOnly = true
	default:
		return apperr.Field("unread", "must be true or false")
	}
	if f.BeforeSeq, err = seqCursor(after); err != nil {
		return err
	}
	if pid := q.Get("project_id"); pid != "" && m.Projects != nil {
		if f.Services, err = m.projectServices(r, pid); err != nil {
			return err
		}
	}
	ns, err := m.Notify.List(r.Context(), PrincipalFrom(r.Context()).UserID, f)
	if err != nil {
		return err
	}
	type item struct {
		v   NotificationView
		seq int64
	}
	items := make([]item, len(ns))
	for i := range ns {
		items[i] = item{notificationView(&ns[i]), ns[i].Seq}
	}
	page := NewList(items, limit, func(it item) string { return strconv.FormatInt(it.seq, 10) })
	views := make([]NotificationView, len(page.Data))
	for i, it := range page.Data {
		views[i] = it.v
	}
	return writeJSON(w, http.StatusOK, List[NotificationView]{Data: views, NextCursor: page.NextCursor})
}

func (m *NotificationsAPI) unreadCount(w http.ResponseWriter, r *http.Request) error {
	u, err := m.Notify.UnreadCount(r.Context(), PrincipalFrom(r.Context()).UserID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, u)
}

func (m *NotificationsAPI) markRead(read bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		n, err := m.Notify.MarkRead(r.Context(), PrincipalFrom(r.Context()).UserID, mux.Vars(r)["id"], read)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, notificationView(n))
	}
}

func (m *NotificationsAPI) readAll(w http.ResponseWriter, r *http.Request) error {
	n, err := m.Notify.MarkAllRead(r.Context(), PrincipalFrom(r.Context()).UserID, notify.Category(r.URL.Query().Get("category")))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"updated": n})
}

// preferencesView is the preferences document: the matrix and settings.
type preferencesView struct {
	Preferences []notify.Preference `json:"preferences"`
	Settings    *notify.Settings    `json:"settings"`
}

func (m *NotificationsAPI) preferencesDoc(ctx context.Context, userID string, prefs []notify.Preference) (*preferencesView, error) {
	var err error
	if prefs == nil {
		if prefs, err = m.Notify.Preferences(ctx, userID); err != nil {
			return nil, err
		}
	}
	st, err := m.Notify.Settings(ctx, userID)
	if err != nil {
		return nil, err
	}
	return &preferencesView{Preferences: prefs, Settings: st}, nil
}

func (m *NotificationsAPI) preferences(w http.ResponseWriter, r *http.Request) error {
	doc, err := m.preferencesDoc(r.Context(), PrincipalFrom(r.Context()).UserID, nil)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

func (m *NotificationsAPI) updatePreferences(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Preferences    []notify.PreferenceChange `json:"preferences"`
		DiscordWebhook *string                   `json:"discord_webhook"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	userID := PrincipalFrom(r.Context()).UserID
	if in.DiscordWebhook != nil {
		if err := m.Notify.SetDiscordWebhook(r.Context(), userID, *in.DiscordWebhook); err != nil {
			return err
		}
	}
	prefs, err := m.Notify.UpdatePreferences(r.Context(), userID, in.Preferences)
	if err != nil {
		return err
	}
	doc, err := m.preferencesDoc(r.Context(), userID, prefs)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, doc)
}

// unsubscribeToken reads the token from the query (the List-Unsubscribe
// URL a mail provider posts to), a form body (List-Unsubscribe=One-Click,
// or the confirmation page) or a JSON body.
func unsubscribeToken(r *http.Request) (string, error) {
	if t := r.URL.Query().Get("token"); t != "" {
		return t, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseForm(); err != nil {
			return "", apperr.New(apperr.Invalid, "could not read the form").WithReason("bad_body")
		}
		if t := r.PostForm.Get("token"); t != "" {
			return t, nil
		}
	case "application/json":
		var in struct {
			Token string `json:"token"`
		}
		if err := Decode(r, &in); err != nil {
			return "", err
		}
		return in.Token, nil
	}
	return "", apperr.Field("token", "is required")
}

func (m *NotificationsAPI) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	tok, err := unsubscribeToken(r)
	if err != nil {
		return err
	}
	if err := m.Notify.Unsubscribe(r.Context(), tok); err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Accept")); mt == "text/html" {
		return writeHTML(w, http.StatusOK, unsubscribedPage, nil)
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "unsubscribed"})
}

// unsubscribePage answers a person who opened the List-Unsubscribe link in
// a browser: a GET never unsubscribes (link scanners follow every link),
// it shows a button that posts the one-click form.
func (m *NotificationsAPI) unsubscribePage(w http.ResponseWriter, r *http.Request) error {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return apperr.Field("token", "is required")
	}
	return writeHTML(w, http.StatusOK, confirmPage, map[string]string{"Action": "/api/v1/unsubscribe?token=" + url.QueryEscape(tok)})
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Unsubscribe</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:4em auto;">
<h1>Unsubscribe</h1>
<p>Stop receiving news and announcements by email? Billing and security messages are not affected.</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>
</body></html>
`))

var unsubscribedPage = template.Must(template.New("done").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribed</title></head>
<body style="font-family:sans-serif;max-width:32em;margin:4em auto;"><h1>Unsubscribed</h1><p>You will not receive news and announcements by email any more.</p></body></html>
`))

func writeHTML(w http.ResponseWriter, status int, t *template.Template, data any) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	return t.Execute(w, data)
}

func (m *NotificationsAPI) announce(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Title   string `json:"title"`
		Message string `json:"message"`
		Link    string `json:"link"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	var fields apperr.Fields
	in.Title, in.Message, in.Link = strings.TrimSpace(in.Title), strings.TrimSpace(in.Message), strings.TrimSpace(in.Link)
	if in.Title == "" || len(in.Title) > 200 {
		fields.Add("title", "must be 1 to 200 characters")
	}
	if in.Message == "" || len(in.Message) > 10000 {
		fields.Add("message", "must be 1 to 10000 characters")
	}
	if in.Link != "" && !strings.HasPrefix(in.Link, "/") && !strings.HasPrefix(in.Link, "https://") {
		fields.Add("link", "must be a path such as /news/frankfurt or an https URL")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	var res *notify.Result
	err := m.s.DB.Tx(r.Context(), func(ctx context.Context, tx bun.Tx) error {
		var err error
		res, err = m.Notify.Send(ctx, tx, notify.Event{
			Type: notify.Announcement, AllUsers: true, Link: in.Link,
			Data: map[string]any{"title": in.Title, "message": in.Message},
		})
		if err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{
			Action: "notification.announce", TargetType: "announcement",
			Changes: map[string]any{"title": in.Title, "in_app": res.InApp, "emails": res.Messages[notify.ChannelEmail]},
		})
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]int{
		"in_app": res.InApp, "emails": res.Messages[notify.ChannelEmail], "discord": res.Messages[notify.ChannelDiscord],
	})
}

// projectServices is the notifications list's project_id filter: the
// services of a project of an account the caller belongs to (another's is
// 404 naming project_id, as in the account's own lists), or with
// projects.NoProject those in no project of any of the caller's accounts.
func (m *NotificationsAPI) projectServices(r *http.Request, pid string) (*notify.ServiceSet, error) {
	ctx, p := r.Context(), PrincipalFrom(r.Context())
	if pid == projects.NoProject {
		ms, err := m.s.Accounts.Memberships(ctx, p.UserID)
		if err != nil {
			return nil, err
		}
		set := &notify.ServiceSet{Exclude: true}
		for _, mb := range ms {
			ids, _, err := m.Projects.ServiceScope(ctx, projects.Actor{AccountID: mb.AccountID, Role: mb.Role}, projects.NoProject)
			if err != nil {
				return nil, err
			}
			set.Accounts, set.IDs = append(set.Accounts, mb.AccountID), append(set.IDs, ids...)
		}
		return set, nil
	}
	accountID, err := m.Projects.AccountOf(ctx, pid)
	if err != nil {
		return nil, err
	}
	ms, err := m.s.Accounts.Memberships(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ms, func(mb accounts.Membership) bool { return mb.AccountID == accountID })
	if i < 0 {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "no such project",
			Fields: []apperr.FieldError{{Field: "project_id", Message: "no such project in your accounts"}}}
	}
	ids, _, err := m.Projects.ServiceScope(ctx, projects.Actor{AccountID: accountID, Role: ms[i].Role}, pid)
	if err != nil {
		return nil, err
	}
	return &notify.ServiceSet{AccountID: accountID, IDs: ids}, nil
}
