package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/billing/budget"
)

// BudgetAPI is an account's budget cap: its monthly limit, alerts, hard
// stop, rules and the services the hard stop spares. Members read it; owners,
// admins and billing members change it.
type BudgetAPI struct {
	Budgets *budget.Service
}

// Routes registers the budget routes.
func (m *BudgetAPI) Routes(s *Server) {
	const base = "/api/v1/accounts/{account_id}/budget"
	s.Handle(Route{Method: "GET", Path: base, Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "billing:read", Handler: m.get()})
	s.Handle(Route{Method: "PUT", Path: base, Auth: User, Members: billers, StaffRole: accounts.StaffAdmin, Scope: "billing:write", Handler: m.put()})
	s.Handle(Route{Method: "DELETE", Path: base, Auth: User, Members: billers, StaffRole: accounts.StaffAdmin, Scope: "billing:write", Handler: m.delete()})
	s.Handle(Route{Method: "PUT", Path: base + "/exclusions/{service_id}", Auth: User, Members: billers, StaffRole: accounts.StaffAdmin, Scope: "billing:write", Handler: m.exclude(true)})
	s.Handle(Route{Method: "DELETE", Path: base + "/exclusions/{service_id}", Auth: User, Members: billers, StaffRole: accounts.StaffAdmin, Scope: "billing:write", Handler: m.exclude(false)})
}

func (m *BudgetAPI) get() HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := accountOf(r)
		st, err := m.Budgets.Status(r.Context(), id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, st)
	}
}

func (m *BudgetAPI) put() HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := accountOf(r)
		var in budget.Settings
		if err := Decode(r, &in); err != nil {
			return err
		}
		if _, err := m.Budgets.Save(r.Context(), id, in); err != nil {
			return err
		}
		st, err := m.Budgets.Status(r.Context(), id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, st)
	}
}

func (m *BudgetAPI) delete() HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := accountOf(r)
		if err := m.Budgets.Delete(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (m *BudgetAPI) exclude(excluded bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id := accountOf(r)
		if err := m.Budgets.SetExcluded(r.Context(), id, mux.Vars(r)["service_id"], excluded); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
