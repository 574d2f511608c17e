package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ezscale/platform/core/services"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/billing/ledger"
)

func (m *BillingAPI) getProfile(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	p, err := m.Billing.Profile(r.Context(), acc)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileView(p))
}

func (m *BillingAPI) updateProfile(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in struct {
		Country *string `json:"country"`
		TaxID   *string `json:"tax_id"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Billing.UpdateProfile(r.Context(), acc, billing.ProfileUpdate{Country: in.Country, TaxID: in.TaxID}, false)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileView(p))
}

// serviceJSON renders a service with its suspensions in force.
func (m *BillingAPI) serviceJSON(ctx context.Context, s *billing.Service) (ServiceView, error) {
	var sus []services.Suspension
	if s.Status == services.StatusSuspended {
		var err error
		if sus, err = m.Services.Suspensions(ctx, s.ID, true); err != nil {
			return ServiceView{}, err
		}
	}
	return serviceView(s, sus), nil
}

func (m *BillingAPI) writeServices(w http.ResponseWriter, r *http.Request, f services.Filter) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	f.Limit, f.After = limit+1, after
	svcs, err := m.Billing.Services(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]ServiceView, len(svcs))
	for i := range svcs {
		if views[i], err = m.serviceJSON(r.Context(), &svcs[i]); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, NewList(views, limit, func(v ServiceView) string { return v.ID }))
}

func (m *BillingAPI) listServices(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	f := services.Filter{AccountID: acc, Status: r.URL.Query().Get("status")}
	// ?project_id=ID: the project's services; none: those in no project.
	if pid := r.URL.Query().Get("project_id"); pid != "" && m.Projects != nil {
		ids, exclude, err := m.Projects.ServiceScope(r.Context(), actorOf(r), pid)
		if err != nil {
			return err
		}
		f.Among = &services.Set{IDs: ids, Exclude: exclude}
	}
	return m.writeServices(w, r, f)
}

func (m *BillingAPI) getService(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	s, err := m.Billing.Service(r.Context(), acc, mux.Vars(r)["service_id"])
	if err != nil {
		return err
	}
	v, err := m.serviceJSON(r.Context(), s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (m *BillingAPI) listPlanChanges(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	s, err := m.Billing.Service(r.Context(), acc, mux.Vars(r)["service_id"])
	if err != nil {
		return err
	}
	chs, err := m.Billing.PlanChanges(r.Context(), s.ID)
	if err != nil {
		return err
	}
	out := make([]PlanChangeView, len(chs))
	for i := range chs {
		out[i] = planChangeView(&chs[i])
	}
	return writeJSON(w, http.StatusOK, List[PlanChangeView]{Data: out})
}

func (m *BillingAPI) order(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.OrderInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	res, err := m.Billing.Order(r.Context(), acc, in)
	if err != nil {
		return err
	}
	sv, err := m.serviceJSON(r.Context(), res.Service)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"service": sv, "invoice": invoiceView(res.Invoice)})
}

func (m *BillingAPI) changePlan(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.ChangeInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	res, err := m.Billing.ChangePlan(r.Context(), acc, mux.Vars(r)["service_id"], in)
	if err != nil {
		return err
	}
	sv, err := m.serviceJSON(r.Context(), res.Service)
	if err != nil {
		return err
	}
	out := map[string]any{"change": planChangeView(res.Change), "service": sv, "invoice": nil, "credit": res.Credit}
	if res.Invoice != nil {
		out["invoice"] = invoiceView(res.Invoice)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (m *BillingAPI) cancelService(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.CancelInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	s, err := m.Billing.Cancel(r.Context(), acc, mux.Vars(r)["service_id"], in)
	if err != nil {
		return err
	}
	v, err := m.serviceJSON(r.Context(), s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (m *BillingAPI) writeInvoices(w http.ResponseWriter, r *http.Request, f billing.InvoiceFilter) error {
	f.Status, f.ServiceID = r.URL.Query().Get("status"), r.URL.Query().Get("service_id")
	return writePage(w, r, func(after string, limit int) ([]billing.Invoice, error) {
		f.Limit, f.After = limit, after
		return m.Billing.Invoices(r.Context(), f)
	}, invoiceView, func(v InvoiceView) string { return v.ID })
}

func (m *BillingAPI) listInvoices(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	f := billing.InvoiceFilter{AccountID: acc, Issued: true}
	// ?project_id=ID: the invoices with a line of the project; none: with
	// a line of no project.
	if pid := r.URL.Query().Get("project_id"); pid != "" && m.Projects != nil {
		if err := m.Projects.AuthorizeFilter(r.Context(), actorOf(r), pid); err != nil {
			return err
		}
		f.ProjectID = pid
	}
	return m.writeInvoices(w, r, f)
}

func (m *BillingAPI) getInvoice(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	inv, err := m.Billing.Invoice(r.Context(), acc, mux.Vars(r)["invoice_id"])
	if err != nil {
		return err
	}
	if inv.Status == billing.InvoiceDraft {
		return apperr.NotFoundf("no such invoice") // staff work in progress
	}
	return writeJSON(w, http.StatusOK, invoiceView(inv))
}

func (m *BillingAPI) getCredit(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	p, err := m.Billing.Profile(r.Context(), acc)
	if err != nil {
		return err
	}
	bal, err := m.Billing.Ledger().Balance(r.Context(), acc, p.Currency)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, bal)
}

func (m *BillingAPI) listEntries(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	before, err := seqCursor(after)
	if err != nil {
		return err
	}
	es, err := m.Billing.Ledger().Entries(r.Context(), acc, before, limit+1)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, NewList(es, limit, func(e ledger.Entry) string { return strconv.FormatInt(e.Seq, 10) }))
}
