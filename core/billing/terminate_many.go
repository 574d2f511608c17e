package billing

import (
	"context"
	"fmt"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/services"
)

// MaxTerminateMany bounds the services of one TerminateMany.
const MaxTerminateMany = 100

// ReasonNotTerminable is the reason of TerminateMany's refusal of a list
// it cannot terminate as a whole.
const ReasonNotTerminable = "services_not_terminable"

// TerminateOutcome is one service's outcome in TerminateMany: the service
// when it was terminated, Err (why not) when it was not.
type TerminateOutcome struct {
	ServiceID string
	Service   *Service
	Err       error
}

// Terminations is the outcome of TerminateMany: one per listed service,
// in the order listed, and how many ended and failed.
type Terminations struct {
	Terminated int
	Failed     int
	Results    []TerminateOutcome
}

// TerminateMany terminates each of ids at a staff member's request, each
// through TerminateRequested (its dependents guard, open invoices voided,
// its own transaction and audit event) with in's reason and confirmation.
// The list is checked first, and a list that fails the check terminates
// nothing: Invalid (service_ids: none, or more than MaxTerminateMany) or
// Unprocessable services_not_terminable with an error per service_ids[i]
// listed twice, unknown or already ended. A service that fails afterwards
// (a dependent unconfirmed, a race) is reported in its outcome and the
// others still end. Staff only; the caller gates the request (a bulk
// termination is high-risk, core/approval).
func (b *Billing) TerminateMany(ctx context.Context, ids []string, in TerminateInput) (*Terminations, error) {
	if err := b.checkTerminable(ctx, ids); err != nil {
		return nil, err
	}
	out := &Terminations{Results: make([]TerminateOutcome, 0, len(ids))}
	for _, id := range ids {
		svc, err := b.TerminateRequested(ctx, id, in)
		if err != nil {
			svc = nil
			out.Failed++
		} else {
			out.Terminated++
		}
		out.Results = append(out.Results, TerminateOutcome{ServiceID: id, Service: svc, Err: err})
	}
	return out, nil
}

// checkTerminable refuses a list TerminateMany cannot take as a whole.
func (b *Billing) checkTerminable(ctx context.Context, ids []string) error {
	var fields apperr.Fields
	switch {
	case len(ids) == 0:
		fields.Add("service_ids", "is required: list the services to terminate")
	case len(ids) > MaxTerminateMany:
		fields.Add("service_ids", "lists at most %d services", MaxTerminateMany)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	statuses, err := b.services.Statuses(ctx, ids)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, id := range ids {
		field := fmt.Sprintf("service_ids[%d]", i)
		st, ok := statuses[id]
		switch {
		case seen[id]:
			fields.Add(field, "is listed twice")
		case !ok:
			fields.Add(field, "no such service")
		case !services.IsLive(st):
			fields.Add(field, "the service is already %s", st)
		}
		seen[id] = true
	}
	if len(fields) > 0 {
		return &apperr.Error{Code: apperr.Unprocessable, Reason: ReasonNotTerminable,
			Message: "some listed services cannot be terminated; nothing was terminated", Fields: fields}
	}
	return nil
}
