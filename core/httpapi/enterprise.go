package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/enterprise"
)

// EnterpriseAPI is enterprise requests: an account's owners and admins
// submit one and accept or decline its quote, any member reads them;
// staff quote them and attach the services they set up by hand. Another
// account's request is 404.
type EnterpriseAPI struct {
	Enterprise *enterprise.Service
	s          *Server
}

// Routes registers the enterprise routes.
func (m *EnterpriseAPI) Routes(s *Server) {
	m.s = s
	read := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "GET", Path: acct + path, Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "billing:read", Handler: h})
	}
	write := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "POST", Path: acct + path, Auth: User, Members: managers, StaffRole: accounts.StaffAdmin, Scope: "billing:write", Idempotent: true, Handler: h})
	}
	write("/enterprise-requests", m.submit)
	read("/enterprise-requests", m.list)
	read("/enterprise-requests/{request_id}", m.get)
	write("/enterprise-requests/{request_id}/accept", m.accept)
	write("/enterprise-requests/{request_id}/decline", m.decline)

	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/enterprise-requests", Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: m.queue})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/enterprise-requests/{request_id}", Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: m.staffGet})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/enterprise-requests/{request_id}/quote", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Idempotent: true,
		HighRisk: &HighRisk{Action: "enterprise.quote", TargetType: "enterprise_request", TargetVar: "request_id", FactsFunc: m.quoteFacts}, Handler: m.quote})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/enterprise-requests/{request_id}/services", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Idempotent: true,
		HighRisk: &HighRisk{Action: "enterprise.attach_service", TargetType: "enterprise_request", TargetVar: "request_id", FactsFunc: m.attachFacts}, Handler: m.attach})
}

func enterpriseActor(r *http.Request) enterprise.Actor {
	a := enterprise.Actor{AccountID: accountOf(r)}
	if p := PrincipalFrom(r.Context()); p != nil {
		a.UserID = p.UserID
	}
	return a
}

func (m *EnterpriseAPI) submit(w http.ResponseWriter, r *http.Request) error {
	var in enterprise.SubmitInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	req, err := m.Enterprise.Submit(r.Context(), enterpriseActor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, req)
}

func (m *EnterpriseAPI) list(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, func(after string, limit int) ([]enterprise.Request, error) {
		return m.Enterprise.List(r.Context(), enterpriseActor(r), after, limit)
	}, func(x *enterprise.Request) enterprise.Request { return *x }, func(x enterprise.Request) string { return x.ID })
}

func (m *EnterpriseAPI) get(w http.ResponseWriter, r *http.Request) error {
	req, err := m.Enterprise.Get(r.Context(), accountOf(r), mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (m *EnterpriseAPI) accept(w http.ResponseWriter, r *http.Request) error {
	req, err := m.Enterprise.Accept(r.Context(), enterpriseActor(r), mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (m *EnterpriseAPI) decline(w http.ResponseWriter, r *http.Request) error {
	var in enterprise.DeclineInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	req, err := m.Enterprise.Decline(r.Context(), enterpriseActor(r), mux.Vars(r)["request_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (m *EnterpriseAPI) queue(w http.ResponseWriter, r *http.Request) error {
	status := r.URL.Query().Get("status")
	return writePage(w, r, func(after string, limit int) ([]enterprise.Request, error) {
		return m.Enterprise.Queue(r.Context(), status, after, limit)
	}, func(x *enterprise.Request) enterprise.Request { return *x }, func(x enterprise.Request) string { return x.ID })
}

func (m *EnterpriseAPI) staffGet(w http.ResponseWriter, r *http.Request) error {
	req, err := m.Enterprise.Get(r.Context(), "", mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (m *EnterpriseAPI) quote(w http.ResponseWriter, r *http.Request) error {
	var in enterprise.QuoteInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	req, err := m.Enterprise.Quote(r.Context(), staffUserID(r), mux.Vars(r)["request_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, req)
}

func (m *EnterpriseAPI) attach(w http.ResponseWriter, r *http.Request) error {
	var in enterprise.AttachInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	svc, err := m.Enterprise.Attach(r.Context(), mux.Vars(r)["request_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, serviceView(svc, nil))
}

// quoteFacts is the facts of a quote: the quoted monthly price (amount) in
// the account's currency, one customer.
func (m *EnterpriseAPI) quoteFacts(r *http.Request, body []byte, a *approval.Action) error {
	var in enterprise.QuoteInput
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	req, err := m.Enterprise.Get(r.Context(), "", mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	a.Amount, a.CustomersAffected = in.MonthlyPrice, 1
	a.Currency = m.s.accountCurrency(r.Context(), req.AccountID)
	return nil
}

// attachFacts is the facts of attaching a service to a quote's plan: one
// service of one customer, billed at the quoted monthly price (amount, in
// the quote's currency).
func (m *EnterpriseAPI) attachFacts(r *http.Request, _ []byte, a *approval.Action) error {
	req, err := m.Enterprise.Get(r.Context(), "", mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	a.ServicesAffected, a.CustomersAffected = 1, 1
	a.Amount, a.Currency = req.MonthlyPrice, req.Currency
	return nil
}
