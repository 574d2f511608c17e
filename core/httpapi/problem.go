package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Code      string              `json:"code"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`

	retryAfter int
}

// ProblemTypeBase prefixes the stable problem type URIs.
const ProblemTypeBase = "https://docs.ezscale.dev/problems/"

var statusOf = map[apperr.Code]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.PaymentRequired: http.StatusPaymentRequired,
	apperr.Forbidden:       http.StatusForbidden,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Unprocessable:   http.StatusUnprocessableEntity,
	apperr.RateLimited:     http.StatusTooManyRequests,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	apperr.Internal:        http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for an application error code.
func StatusOf(c apperr.Code) int {
	if s, ok := statusOf[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func problemFrom(e *apperr.Error) Problem {
	code := string(e.Code)
	if e.Reason != "" {
		code = e.Reason
	}
	status := StatusOf(e.Code)
	p := Problem{
		Type:   ProblemTypeBase + code,
		Title:  http.StatusText(status),
		Status: status,
		Code:   code,
		Detail: e.Message,
		Errors: e.Fields,
	}
	if e.RetryAfter > 0 {
		p.retryAfter = int((e.RetryAfter + 999_999_999) / 1_000_000_000)
	}
	return p
}

func problemInternal() Problem {
	return problemFrom(&apperr.Error{Code: apperr.Internal, Message: "internal error; the request id identifies it in our logs"})
}

func problemDatabaseUnavailable() Problem {
	return problemFrom(&apperr.Error{Code: apperr.Unavailable, Reason: "database_unavailable",
		Message: "the database cannot be reached right now; retry after the number of seconds in Retry-After", RetryAfter: database.RetryAfter})
}

func problemNotFoundRoute() Problem {
	return problemFrom(&apperr.Error{Code: apperr.NotFound, Reason: "route_not_found", Message: "no such API route"})
}

func problemMethodNotAllowed() Problem {
	p := problemFrom(&apperr.Error{Code: apperr.Invalid, Reason: "method_not_allowed", Message: "this route does not accept that method"})
	p.Status = http.StatusMethodNotAllowed
	p.Title = http.StatusText(http.StatusMethodNotAllowed)
	return p
}

// writeError renders err. Application errors keep their message; anything
// else is logged in full and shown as a bare internal error, so no SQL, Go
// error text or stack ever reaches the caller.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apperr.Error
	if errors.As(err, &ae) && ae.Code != apperr.Internal {
		if ae.Code == apperr.Unavailable {
			s.Logger.Warn("dependency unavailable", "request_id", RequestID(r.Context()), "error", err)
		}
		s.writeProblem(w, r, problemFrom(ae))
		return
	}
	if errors.Is(err, errBodyTooLarge) {
		s.writeProblem(w, r, tooLarge(s.opts.BodyLimit))
		return
	}
	if database.IsConnectionError(err) {
		// Not the request's fault and not a bug: the database is down or
		// restarting. The outage is logged once by the database (NoteError
		// starts it when no query has yet), not once per request.
		if s.DB != nil {
			s.DB.NoteError(err)
		}
		s.writeProblem(w, r, problemDatabaseUnavailable())
		return
	}
	if r.Context().Err() != nil {
		s.Logger.Warn("request ended before completion", "request_id", RequestID(r.Context()), "error", err)
		p := problemFrom(&apperr.Error{Code: apperr.Unavailable, Reason: "timeout", Message: "the request took too long and was abandoned; retry"})
		s.writeProblem(w, r, p)
		return
	}
	s.Logger.Error("internal error", "request_id", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	s.writeProblem(w, r, problemInternal())
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	p.RequestID = RequestID(r.Context())
	p.Instance = r.URL.Path
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	if p.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as the response body with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// WriteJSON is writeJSON for modules.
func WriteJSON(w http.ResponseWriter, status int, v any) error { return writeJSON(w, status, v) }
