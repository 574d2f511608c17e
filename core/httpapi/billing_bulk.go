package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
)

// maxBulkTerminate bounds the services of one bulk termination.
const maxBulkTerminate = 100

// bulkTerminateRequest is the body of POST /api/v1/admin/services/terminate.
type bulkTerminateRequest struct {
	ServiceIDs        []string `json:"service_ids"`
	Reason            string   `json:"reason"`
	ConfirmDependents bool     `json:"confirm_dependents"`
}

// BulkTerminateResult is one service's outcome in a bulk termination:
// the service when it was terminated, the problem when it was not.
type BulkTerminateResult struct {
	ServiceID string       `json:"service_id"`
	Status    string       `json:"status"`
	Service   *ServiceView `json:"service,omitempty"`
	Problem   *Problem     `json:"problem,omitempty"`
}

// BulkTerminateView is the answer of a bulk termination.
type BulkTerminateView struct {
	Terminated int                   `json:"terminated"`
	Failed     int                   `json:"failed"`
	Results    []BulkTerminateResult `json:"results"`
}

// uniqueIDs is ids without repeats, in order.
func uniqueIDs(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// bulkTerminateFacts is the facts of a bulk termination: the services
// listed (each distinct id counts, so a policy on the count holds whatever
// their state) and the accounts holding the live ones.
func (m *BillingAPI) bulkTerminateFacts(r *http.Request, body []byte, a *approval.Action) error {
	var in bulkTerminateRequest
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	ids := uniqueIDs(in.ServiceIDs)
	if len(ids) > maxBulkTerminate {
		ids = ids[:maxBulkTerminate]
	}
	_, custs, err := m.Billing.ServiceReach(r.Context(), ids)
	if err != nil {
		return err
	}
	a.ServicesAffected, a.CustomersAffected = int64(len(ids)), custs
	return nil
}

// bulkTerminate terminates each listed service through the path of the
// one-service route (Billing.TerminateRequested: its dependents guard,
// open invoices voided, its own transaction and audit event). The list is
// checked first: an unknown or ended service refuses the whole request
// (422, an error per service_ids[i]) and nothing is terminated. A service
// that fails afterwards (a dependent, a race) is reported in its result;
// the others still end.
func (m *BillingAPI) bulkTerminate(w http.ResponseWriter, r *http.Request) error {
	var in bulkTerminateRequest
	if err := Decode(r, &in); err != nil {
		return err
	}
	var fields apperr.Fields
	switch {
	case len(in.ServiceIDs) == 0:
		fields.Add("service_ids", "is required: list the services to terminate")
	case len(in.ServiceIDs) > maxBulkTerminate:
		fields.Add("service_ids", "lists at most %d services", maxBulkTerminate)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	statuses, err := m.Billing.ServiceStatuses(r.Context(), in.ServiceIDs)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, id := range in.ServiceIDs {
		field := fmt.Sprintf("service_ids[%d]", i)
		st, ok := statuses[id]
		switch {
		case seen[id]:
			fields.Add(field, "is listed twice")
		case !ok:
			fields.Add(field, "no such service")
		case st == billing.StatusTerminated || st == billing.StatusCancelled || st == billing.StatusFailed:
			fields.Add(field, "the service is already %s", st)
		}
		seen[id] = true
	}
	if len(fields) > 0 {
		return &apperr.Error{Code: apperr.Unprocessable, Reason: "services_not_terminable",
			Message: "some listed services cannot be terminated; nothing was terminated", Fields: fields}
	}
	out := BulkTerminateView{Results: make([]BulkTerminateResult, 0, len(in.ServiceIDs))}
	for _, id := range in.ServiceIDs {
		res := BulkTerminateResult{ServiceID: id, Status: "terminated"}
		svc, err := m.Billing.TerminateRequested(r.Context(), id, billing.TerminateInput{Reason: in.Reason, ConfirmDependents: in.ConfirmDependents})
		if err == nil {
			var v ServiceView
			if v, err = m.serviceJSON(r.Context(), svc); err == nil {
				res.Service = &v
			}
		}
		if err != nil {
			e, ok := apperr.As(err)
			if !ok {
				m.s.Logger.Error("bulk termination", "service_id", id, "error", err)
				e = apperr.New(apperr.Internal, "the service could not be terminated")
			}
			p := problemFrom(e)
			res.Status, res.Problem, res.Service = "failed", &p, nil
			out.Failed++
		} else {
			out.Terminated++
		}
		out.Results = append(out.Results, res)
	}
	return writeJSON(w, http.StatusOK, out)
}
