package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/ezscale/platform/core/services"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
)

func (m *BillingAPI) adminListServices(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return m.writeServices(w, r, services.Filter{AccountID: q.Get("account_id"), Status: q.Get("status")})
}

func (m *BillingAPI) adminGetService(w http.ResponseWriter, r *http.Request) error {
	s, err := m.Billing.Service(r.Context(), "", mux.Vars(r)["service_id"])
	if err != nil {
		return err
	}
	sus, err := m.Services.Suspensions(r.Context(), s.ID, false)
	if err != nil {
		return err
	}
	v := serviceView(s, sus)
	return writeJSON(w, http.StatusOK, v)
}

func (m *BillingAPI) writeService(w http.ResponseWriter, r *http.Request, s *billing.Service, err error) error {
	if err != nil {
		return err
	}
	v, err := m.serviceJSON(r.Context(), s)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// writeRecord writes a service core/services changed, with its terms.
func (m *BillingAPI) writeRecord(w http.ResponseWriter, r *http.Request, rec *services.Service, err error) error {
	if err != nil {
		return err
	}
	s, err := m.Billing.WithTerms(r.Context(), rec)
	return m.writeService(w, r, s, err)
}

func (m *BillingAPI) suspendService(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
		Note   string `json:"note"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	if in.Reason == "" {
		in.Reason = services.SuspendAdmin
	}
	s, err := m.Services.Suspend(r.Context(), mux.Vars(r)["service_id"], in.Reason, in.Note)
	return m.writeRecord(w, r, s, err)
}

func (m *BillingAPI) unsuspendService(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	s, err := m.Services.Unsuspend(r.Context(), mux.Vars(r)["service_id"], in.Reason)
	return m.writeRecord(w, r, s, err)
}

func (m *BillingAPI) terminateService(w http.ResponseWriter, r *http.Request) error {
	var in billing.TerminateInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	s, err := m.Billing.TerminateRequested(r.Context(), mux.Vars(r)["service_id"], in)
	return m.writeService(w, r, s, err)
}

func (m *BillingAPI) retryProvisioning(w http.ResponseWriter, r *http.Request) error {
	s, err := m.Billing.RetryProvisioning(r.Context(), mux.Vars(r)["service_id"])
	return m.writeService(w, r, s, err)
}

func (m *BillingAPI) adminListInvoices(w http.ResponseWriter, r *http.Request) error {
	return m.writeInvoices(w, r, billing.InvoiceFilter{AccountID: r.URL.Query().Get("account_id")})
}

func (m *BillingAPI) voidInvoice(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := Decode(r, &in); err != nil {
		return err
	}
	inv, err := m.Billing.VoidInvoice(r.Context(), mux.Vars(r)["invoice_id"], in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invoiceView(inv))
}

func (m *BillingAPI) uncollectible(w http.ResponseWriter, r *http.Request) error {
	inv, err := m.Billing.MarkUncollectible(r.Context(), mux.Vars(r)["invoice_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invoiceView(inv))
}

func (m *BillingAPI) issueInvoice(w http.ResponseWriter, r *http.Request) error {
	inv, err := m.Billing.IssueInvoice(r.Context(), mux.Vars(r)["invoice_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, invoiceView(inv))
}

func (m *BillingAPI) manualInvoice(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.ManualInvoiceInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	inv, err := m.Billing.CreateManualInvoice(r.Context(), acc, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, invoiceView(inv))
}

func (m *BillingAPI) adminUpdateProfile(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.ProfileUpdate
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Billing.UpdateProfile(r.Context(), acc, in, true)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileView(p))
}

func (m *BillingAPI) adjustCredit(w http.ResponseWriter, r *http.Request) error {
	acc := accountOf(r)
	var in billing.AdjustInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	in.IdempotencyKey = r.Header.Get(idempotencyField)
	e, err := m.Billing.Adjust(r.Context(), acc, in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (m *BillingAPI) triggerRun(w http.ResponseWriter, r *http.Request) error {
	var in billing.RunInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	in.By = "admin"
	run, err := m.Billing.TriggerRun(r.Context(), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, runView(run))
}

func (m *BillingAPI) listRuns(w http.ResponseWriter, r *http.Request) error {
	limit, _, err := PageParams(r)
	if err != nil {
		return err
	}
	runs, err := m.Billing.Runs(r.Context(), limit)
	if err != nil {
		return err
	}
	out := make([]RunView, len(runs))
	for i := range runs {
		out[i] = runView(&runs[i])
	}
	return writeJSON(w, http.StatusOK, List[RunView]{Data: out})
}

func (m *BillingAPI) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := m.Billing.GetRun(r.Context(), mux.Vars(r)["run_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, runView(run))
}

// invoiceFacts is the facts of a manual invoice: its total before tax.
func invoiceFacts(_ *http.Request, body []byte, a *approval.Action) error {
	var in billing.ManualInvoiceInput
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	for _, l := range in.Lines {
		a.Amount += int64(l.Quantity) * l.UnitAmount
	}
	a.CustomersAffected = 1
	return nil
}
