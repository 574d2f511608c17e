package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
)

func (s *Server) registerCore() {
	s.router.Handle("/healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})).Methods("GET")
	s.router.Handle("/readyz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			if err := s.Ready(r.Context()); err != nil {
				s.Logger.Warn("not ready", "error", err)
				_ = writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
				return
			}
		}
		_ = writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})).Methods("GET")
	s.router.Handle("/api/v1/openapi.json", http.HandlerFunc(s.serveOpenAPI)).Methods("GET")

	s.registerIdentity()
	s.registerStaffAdmin()
	s.registerBrowserSessions()
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/audit-events", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:read", Handler: s.listAuditEvents})
}

// AuditEventView is the API shape of an audit event.
type AuditEventView struct {
	Seq        int64          `json:"seq"`
	ID         string         `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	ActorType  string         `json:"actor_type"`
	ActorID    string         `json:"actor_id"`
	AccountID  string         `json:"account_id"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	Changes    map[string]any `json:"changes"`
	Result     string         `json:"result"`
	RequestID  string         `json:"request_id"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
	Hash       string         `json:"hash"`
}

func (s *Server) listAuditEvents(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := audit.Filter{
		AccountID: q.Get("account_id"), ActorID: q.Get("actor_id"), Action: q.Get("action"),
		TargetType: q.Get("target_type"), TargetID: q.Get("target_id"), Result: q.Get("result"),
		Limit: limit + 1,
	}
	for name, v := range map[string]string{"account_id": f.AccountID, "actor_id": f.ActorID, "action": f.Action,
		"target_type": f.TargetType, "target_id": f.TargetID, "result": f.Result} {
		if !validText(v) {
			return apperr.Field(name, "must be valid UTF-8 text without NUL characters")
		}
	}
	if after != "" {
		seq, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return apperr.Field("cursor", "is not a cursor returned by this API")
		}
		f.BeforeSeq = seq
	}
	for _, tf := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(tf.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return apperr.Field(tf.name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			}
			*tf.dst = t
		}
	}
	recs, err := audit.List(r.Context(), s.DB, f)
	if err != nil {
		return err
	}
	views := make([]AuditEventView, len(recs))
	for i := range recs {
		e := &recs[i]
		views[i] = AuditEventView{
			Seq: e.Seq, ID: e.ID, OccurredAt: e.OccurredAt, ActorType: e.ActorType, ActorID: e.ActorID, AccountID: e.AccountID,
			Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID, Changes: e.ChangesMap(), Result: e.Result,
			RequestID: e.RequestID, IP: e.IP, UserAgent: e.UserAgent, Hash: e.Hash,
		}
	}
	return writeJSON(w, http.StatusOK, NewList(views, limit, func(v AuditEventView) string { return strconv.FormatInt(v.Seq, 10) }))
}

func splitScopes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Fields(s)
}
