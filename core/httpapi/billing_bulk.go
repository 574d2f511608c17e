package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
)

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
	if len(ids) > billing.MaxTerminateMany {
		ids = ids[:billing.MaxTerminateMany]
	}
	_, custs, err := m.Services.ServiceReach(r.Context(), ids)
	if err != nil {
		return err
	}
	a.ServicesAffected, a.CustomersAffected = int64(len(ids)), custs
	return nil
}

// bulkTerminate terminates the listed services through
// Billing.TerminateMany, which checks the list (a refused list terminates
// nothing) and terminates each through the one-service path, and writes
// each service's outcome.
func (m *BillingAPI) bulkTerminate(w http.ResponseWriter, r *http.Request) error {
	var in bulkTerminateRequest
	if err := Decode(r, &in); err != nil {
		return err
	}
	res, err := m.Billing.TerminateMany(r.Context(), in.ServiceIDs, billing.TerminateInput{Reason: in.Reason, ConfirmDependents: in.ConfirmDependents})
	if err != nil {
		return err
	}
	out := BulkTerminateView{Terminated: res.Terminated, Failed: res.Failed, Results: make([]BulkTerminateResult, len(res.Results))}
	for i, o := range res.Results {
		if o.Err == nil {
			// An ended service has no suspensions to show.
			v := serviceView(o.Service, nil)
			out.Results[i] = BulkTerminateResult{ServiceID: o.ServiceID, Status: "terminated", Service: &v}
			continue
		}
		e, ok := apperr.As(o.Err)
		if !ok {
			m.s.Logger.Error("bulk termination", "service_id", o.ServiceID, "error", o.Err)
			e = apperr.New(apperr.Internal, "the service could not be terminated")
		}
		p := problemFrom(e)
		out.Results[i] = BulkTerminateResult{ServiceID: o.ServiceID, Status: "failed", Problem: &p}
	}
	return writeJSON(w, http.StatusOK, out)
}
