package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/jobs"
)

// QueueAPI is the staff view of the job queue: counts per kind, the failed
// jobs, and retry or cancel.
type QueueAPI struct {
	Engine *jobs.Engine
}

// Routes registers the queue routes.
func (m *QueueAPI) Routes(s *Server) {
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/jobs", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:read", Handler: m.stats(s)})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/jobs/failed", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:read", Handler: m.failed})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/jobs/{id}/retry", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Handler: m.act(s, "retry")})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/jobs/{id}/cancel", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Handler: m.act(s, "cancel")})
}

func (m *QueueAPI) stats(s *Server) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		st, err := jobs.Stats(r.Context(), s.DB, timeNow())
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, List[jobs.KindStats]{Data: st})
	}
}

func (m *QueueAPI) failed(w http.ResponseWriter, r *http.Request) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	before, err := seqCursor(after)
	if err != nil {
		return err
	}
	fs, err := m.Engine.Failed(r.Context(), r.URL.Query().Get("kind"), before, limit+1)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, NewList(fs, limit, func(f jobs.FailedJob) string { return strconv.FormatInt(f.ID, 10) }))
}

func (m *QueueAPI) act(s *Server, verb string) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
		if err != nil {
			return apperr.NotFoundf("no such job")
		}
		if verb == "retry" {
			err = m.Engine.Retry(r.Context(), id)
		} else {
			err = m.Engine.Cancel(r.Context(), id)
		}
		if err != nil {
			return err
		}
		if err := audit.Log(r.Context(), s.DB, audit.Event{Action: "jobs." + verb, TargetType: "job", TargetID: strconv.FormatInt(id, 10)}); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
