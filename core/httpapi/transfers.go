package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/transfers"
)

// TransfersAPI is service transfers between accounts: an account's owners
// and admins ask to move a service to another account, accept or decline
// one sent to them, cancel their own; any member reads them. Staff see
// every transfer and approve or reject accepted ones. A transfer neither
// from nor to the path's account is 404.
type TransfersAPI struct {
	Transfers *transfers.Service
}

// Routes registers the transfers routes.
func (m *TransfersAPI) Routes(s *Server) {
	read := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "GET", Path: acct + path, Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: h})
	}
	write := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "POST", Path: acct + path, Auth: User, Members: managers, StaffRole: accounts.StaffAdmin, Scope: "services:write", Idempotent: true, Handler: h})
	}
	write("/transfers", m.request)
	read("/transfers", m.list)
	read("/transfers/{transfer_id}", m.get)
	write("/transfers/{transfer_id}/accept", m.accept)
	write("/transfers/{transfer_id}/decline", m.decline)
	write("/transfers/{transfer_id}/cancel", m.cancel)

	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/transfers", Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: m.queue})
	s.Handle(Route{Method: "GET", Path: "/api/v1/admin/transfers/{transfer_id}", Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: m.staffGet})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/transfers/{transfer_id}/approve", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Idempotent: true,
		HighRisk: &HighRisk{Action: "transfers.approve", TargetType: "transfer", TargetVar: "transfer_id", FactsFunc: transferFacts}, Handler: m.approve})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/transfers/{transfer_id}/reject", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write", Idempotent: true,
		HighRisk: &HighRisk{Action: "transfers.reject", TargetType: "transfer", TargetVar: "transfer_id", FactsFunc: transferFacts}, Handler: m.reject})
}

// TransferView is a transfer as the API shows it. Direction is the path
// account's side ("outgoing" or "incoming"; empty in the staff views).
type TransferView struct {
	ID                string     `json:"id"`
	ServiceID         string     `json:"service_id"`
	ServiceLabel      string     `json:"service_label"`
	PlanName          string     `json:"plan_name"`
	FromAccountID     string     `json:"from_account_id"`
	ToAccountID       string     `json:"to_account_id"`
	ReceiverEmail     string     `json:"receiver_email"`
	Direction         string     `json:"direction"`
	Status            string     `json:"status"`
	Note              string     `json:"note"`
	Reason            string     `json:"reason"`
	Currency          string     `json:"currency"`
	Prorated          int64      `json:"prorated"`
	DaysLeft          int        `json:"days_left"`
	DaysInCycle       int        `json:"days_in_cycle"`
	ReceiverInvoiceID string     `json:"receiver_invoice_id"`
	ExpiresAt         time.Time  `json:"expires_at"`
	AcceptedAt        *time.Time `json:"accepted_at"`
	CompletedAt       *time.Time `json:"completed_at"`
	EndedAt           *time.Time `json:"ended_at"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func transferView(t *transfers.Transfer, accountID string) TransferView {
	v := TransferView{
		ID: t.ID, ServiceID: t.ServiceID, ServiceLabel: t.ServiceLabel, PlanName: t.PlanName, FromAccountID: t.FromAccountID,
		ToAccountID: t.ToAccountID, ReceiverEmail: t.ReceiverEmail, Status: t.Status, Note: t.Note, Reason: t.Reason,
		Currency: t.Currency, Prorated: t.Prorated, DaysLeft: t.DaysLeft, DaysInCycle: t.DaysInCycle, ReceiverInvoiceID: t.ReceiverInvoiceID,
		ExpiresAt: t.ExpiresAt, AcceptedAt: t.AcceptedAt, CompletedAt: t.CompletedAt, EndedAt: t.EndedAt, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	if accountID != "" {
		v.Direction = t.Direction(accountID)
	}
	return v
}

// transferActor is the caller as the route table admitted them to the
// path's account.
func transferActor(r *http.Request) transfers.Actor {
	a := transfers.Actor{}
	if acc := AccountFrom(r.Context()); acc != nil {
		a.AccountID, a.Staff = acc.AccountID, acc.Staff
	}
	if p := PrincipalFrom(r.Context()); p != nil {
		a.UserID = p.UserID
	}
	return a
}

func staffUserID(r *http.Request) string {
	if p := PrincipalFrom(r.Context()); p != nil {
		return p.UserID
	}
	return ""
}

// writeTransfer answers with the transfer as the caller's account sees it.
func writeTransfer(w http.ResponseWriter, r *http.Request, status int, t *transfers.Transfer, err error) error {
	if err != nil {
		return err
	}
	return writeJSON(w, status, transferView(t, accountOf(r)))
}

func (m *TransfersAPI) request(w http.ResponseWriter, r *http.Request) error {
	var in transfers.RequestInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	t, err := m.Transfers.Request(r.Context(), transferActor(r), in)
	return writeTransfer(w, r, http.StatusCreated, t, err)
}

func (m *TransfersAPI) list(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	accountID := accountOf(r)
	return writePage(w, r, func(after string, limit int) ([]transfers.Transfer, error) {
		return m.Transfers.List(r.Context(), transferActor(r), transfers.Filter{Direction: q.Get("direction"), Status: q.Get("status"), After: after, Limit: limit})
	}, func(t *transfers.Transfer) TransferView { return transferView(t, accountID) }, func(v TransferView) string { return v.ID })
}

func (m *TransfersAPI) get(w http.ResponseWriter, r *http.Request) error {
	t, err := m.Transfers.Get(r.Context(), transferActor(r), mux.Vars(r)["transfer_id"])
	return writeTransfer(w, r, http.StatusOK, t, err)
}

func (m *TransfersAPI) accept(w http.ResponseWriter, r *http.Request) error {
	t, err := m.Transfers.Accept(r.Context(), transferActor(r), mux.Vars(r)["transfer_id"])
	return writeTransfer(w, r, http.StatusOK, t, err)
}

func (m *TransfersAPI) decline(w http.ResponseWriter, r *http.Request) error {
	var in transfers.DecisionInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	t, err := m.Transfers.Decline(r.Context(), transferActor(r), mux.Vars(r)["transfer_id"], in)
	return writeTransfer(w, r, http.StatusOK, t, err)
}

func (m *TransfersAPI) cancel(w http.ResponseWriter, r *http.Request) error {
	t, err := m.Transfers.Cancel(r.Context(), transferActor(r), mux.Vars(r)["transfer_id"])
	return writeTransfer(w, r, http.StatusOK, t, err)
}

func (m *TransfersAPI) queue(w http.ResponseWriter, r *http.Request) error {
	status := r.URL.Query().Get("status")
	return writePage(w, r, func(after string, limit int) ([]transfers.Transfer, error) {
		return m.Transfers.Queue(r.Context(), transfers.StaffFilter{Status: status, After: after, Limit: limit})
	}, func(t *transfers.Transfer) TransferView { return transferView(t, "") }, func(v TransferView) string { return v.ID })
}

func (m *TransfersAPI) staffGet(w http.ResponseWriter, r *http.Request) error {
	t, err := m.Transfers.StaffGet(r.Context(), mux.Vars(r)["transfer_id"])
	return writeTransfer(w, r, http.StatusOK, t, err)
}

func (m *TransfersAPI) approve(w http.ResponseWriter, r *http.Request) error {
	t, err := m.Transfers.Approve(r.Context(), staffUserID(r), mux.Vars(r)["transfer_id"])
	return writeTransfer(w, r, http.StatusOK, t, err)
}

func (m *TransfersAPI) reject(w http.ResponseWriter, r *http.Request) error {
	var in transfers.DecisionInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	t, err := m.Transfers.Reject(r.Context(), staffUserID(r), mux.Vars(r)["transfer_id"], in)
	return writeTransfer(w, r, http.StatusOK, t, err)
}

// decodeOptional is Decode for a body that may be left out (no body: v
// stays as it is).
func decodeOptional(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge
		}
		return apperr.New(apperr.Invalid, "could not read the request body").WithReason("bad_body")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return DecodeBytes(body, v)
}

// transferFacts is the facts of a staff decision on a transfer: one
// service, two accounts (the sender and the receiver).
func transferFacts(_ *http.Request, _ []byte, a *approval.Action) error {
	a.ServicesAffected, a.CustomersAffected = 1, 2
	return nil
}
