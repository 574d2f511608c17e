package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/apperr"
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
	s.Handle(Route{Method: "GET", Path: base, Auth: User, Scope: "billing:read", Handler: m.get(s)})
	s.Handle(Route{Method: "PUT", Path: base, Auth: User, Scope: "billing:write", Handler: m.put(s)})
	s.Handle(Route{Method: "DELETE", Path: base, Auth: User, Scope: "billing:write", Handler: m.delete(s)})
	s.Handle(Route{Method: "PUT", Path: base + "/exclusions/{service_id}", Auth: User, Scope: "billing:write", Handler: m.exclude(s, true)})
	s.Handle(Route{Method: "DELETE", Path: base + "/exclusions/{service_id}", Auth: User, Scope: "billing:write", Handler: m.exclude(s, false)})
}

// access resolves the caller's access to the path's account (NotFound for
// another account) and, for changes, requires billing rights.
func (m *BudgetAPI) access(s *Server, r *http.Request, write bool) (string, error) {
	id := mux.Vars(r)["account_id"]
	acc, err := s.Accounts.AccountAccess(r.Context(), PrincipalFrom(r.Context()), id)
	if err != nil {
		return "", err
	}
	if write && !acc.CanBilling() {
		return "", apperr.New(apperr.Forbidden, "changing the budget needs the owner, admin or billing role").WithReason("billing_role_required")
	}
	return id, nil
}

func (m *BudgetAPI) get(s *Server) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := m.access(s, r, false)
		if err != nil {
			return err
		}
		st, err := m.Budgets.Status(r.Context(), id)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, st)
	}
}

func (m *BudgetAPI) put(s *Server) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := m.access(s, r, true)
		if err != nil {
			return err
		}
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

func (m *BudgetAPI) delete(s *Server) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := m.access(s, r, true)
		if err != nil {
			return err
		}
		if err := m.Budgets.Delete(r.Context(), id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (m *BudgetAPI) exclude(s *Server, excluded bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := m.access(s, r, true)
		if err != nil {
			return err
		}
		if err := m.Budgets.SetExcluded(r.Context(), id, mux.Vars(r)["service_id"], excluded); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
