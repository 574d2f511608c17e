package billing

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// provisionArgs creates a paid service at its provisioner. Version is the
// service's state version when it was queued: a staff retry is a new
// version, so it is queued even while the previous job is still finishing.
type provisionArgs struct {
	ServiceID string `json:"service_id"`
	Version   int    `json:"version"`
}

func (provisionArgs) Kind() string { return "billing_provision" }

// InsertOpts: one live job per service and version.
func (provisionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: liveStates}}
}

// liveStates are the job states that block a duplicate: a finished job
// does not, so a later retry by staff can enqueue again.
var liveStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

type provisionWorker struct {
	river.WorkerDefaults[provisionArgs]
	b *Billing
}

func (w *provisionWorker) Timeout(*river.Job[provisionArgs]) time.Duration {
	return w.b.timeout(5 * time.Minute)
}

func (w *provisionWorker) NextRetry(job *river.Job[provisionArgs]) time.Time {
	return w.b.nextRetry(job.Attempt)
}

// nextRetry doubles the delay per attempt from RetryBase up to RetryMax.
func (b *Billing) nextRetry(attempt int) time.Time {
	d := b.opts.RetryBase
	for i := 1; i < attempt && d < b.opts.RetryMax; i++ {
		d *= 2
	}
	return time.Now().Add(min(d, b.opts.RetryMax))
}

// Work calls the plugin's Create with the service id as idempotency key,
// outside any transaction. A failure is recorded on the service (visible to
// the customer and staff) and audited at every attempt; the job retries
// with backoff. When retries run out, or the error cannot heal by waiting
// (bad input, unsupported, unknown plugin), the service fails and the
// customer is told.
func (w *provisionWorker) Work(ctx context.Context, job *river.Job[provisionArgs]) error {
	b := w.b
	svc, err := b.Service(ctx, "", job.Args.ServiceID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if svc.Status != StatusProvisioning {
		return nil // done already, or cancelled meanwhile
	}
	plan, err := b.Plan(ctx, svc.PlanID)
	if err != nil {
		return err
	}
	ref, err := b.serviceRef(ctx, svc, plan)
	if err != nil {
		return err
	}
	if b.pluginDown(plan.Plugin) {
		// Not here: snooze without spending an attempt (provision_intent.go).
		return river.JobSnooze(b.opts.RetryBase)
	}
	resp, err := b.create(ctx, plan.Plugin, &pb.CreateRequest{Service: ref, IdempotencyKey: svc.ID})
	if err != nil {
		final := job.Attempt >= b.opts.ProvisionMaxAttempts || permanent(err)
		if rerr := b.recordProvisionFailure(ctx, svc.ID, job.Attempt, err, final); rerr != nil {
			return rerr
		}
		if final {
			return river.JobCancel(err)
		}
		return err
	}
	return b.recordProvisioned(ctx, svc.ID, plan.ID, plan.Name, resp.GetStatus())
}

// permanent reports whether a plugin error cannot heal by retrying: bad
// input or an operation the plugin lacks. Everything else (the backend or
// plugin down, a plugin not configured yet) is retried with backoff.
func permanent(err error) bool {
	switch sdk.KindOf(err) {
	case sdk.InvalidInput, sdk.NotSupported:
		return true
	}
	return false
}

func failureEvent(svc *Service, attempt int, msg string) audit.Event {
	return audit.Event{
		Action: "billing.service.provision_failed", Result: audit.Failure, AccountID: svc.AccountID,
		TargetType: "service", TargetID: svc.ID, Changes: map[string]any{"attempts": attempt, "error": msg},
	}
}

func (b *Billing) recordProvisionFailure(ctx context.Context, serviceID string, attempt int, cause error, final bool) error {
	msg := truncate(cause.Error(), 500)
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning {
			return nil
		}
		svc.ProvisionAttempts, svc.LastError = attempt, msg
		if !final {
			svc.UpdatedAt = b.now()
			if _, err := t.NewUpdate().Model(svc).WherePK().Column("provision_attempts", "last_error", "updated_at").Exec(ctx); err != nil {
				return fmt.Errorf("billing: recording provisioning failure: %w", err)
			}
			t.audit("billing.service.provision_retry", svc.AccountID, "service", svc.ID, map[string]any{"attempt": attempt, "error": msg})
			return nil
		}
		if err := b.setStatus(ctx, t, svc, StatusFailed, "provision_attempts", "last_error"); err != nil {
			return err
		}
		t.events = append(t.events, failureEvent(svc, attempt, msg))
		return b.tell(ctx, t, notify.Event{Type: notify.ServiceFailed, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": serviceLabel(svc), "reason": "it could not be set up: " + msg}})
	})
}

func (b *Billing) recordProvisioned(ctx context.Context, serviceID, planID, planName string, st *pb.ServiceStatus) error {
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning {
			return nil
		}
		now := b.now()
		svc.ExternalID, svc.Attributes = st.GetExternalId(), encodeJSON(nonNil(st.GetAttributes()))
		// The create call carried the add-ons' options as they were then.
		svc.BackendState, svc.BackendPlanID, svc.BackendOptionsVersion, svc.ActivatedAt, svc.LastError = backendActive, planID, svc.OptionsVersion, &now, ""
		if err := b.setStatus(ctx, t, svc, StatusActive, "external_id", "attributes", "backend_state", "backend_plan_id", "backend_options_version", "activated_at", "last_error"); err != nil {
			return err
		}
		if svc.PlanID != planID {
			b.enqueueSync(t, svc) // the plan changed while it was created
		}
		t.audit("billing.service.provisioned", svc.AccountID, "service", svc.ID, map[string]any{"external_id": svc.ExternalID})
		return b.tell(ctx, t, notify.Event{Type: notify.ServiceProvisioned, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": serviceLabel(svc), "plan": planName}})
	})
}

// RetryProvisioning starts provisioning a failed service again. Staff only.
// Errors: NotFound, Conflict.
func (b *Billing) RetryProvisioning(ctx context.Context, serviceID string) (*Service, error) {
	var svc *Service
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		var err error
		if svc, err = b.serviceTx(ctx, t, serviceID, true); err != nil {
			return err
		}
		if svc.Status != StatusFailed {
			return apperr.New(apperr.Conflict, "only a failed service can be provisioned again").WithReason("service_" + svc.Status)
		}
		svc.ProvisionAttempts, svc.LastError = 0, ""
		if err := b.setStatus(ctx, t, svc, StatusProvisioning, "provision_attempts", "last_error"); err != nil {
			return err
		}
		t.enqueue(provisionArgs{ServiceID: svc.ID, Version: svc.StateVersion}, nil)
		t.audit("billing.service.provision_restart", svc.AccountID, "service", svc.ID, nil)
		return nil
	})
	return svc, err
}

// serviceRef is what the provisioner is told about a service: the plan's
// options over the add-ons' over the customer's, and the customer.
func (b *Billing) serviceRef(ctx context.Context, svc *Service, plan *Plan) (*pb.ServiceRef, error) {
	opts := decodeOptions(svc.Options)
	addons, err := b.ServiceAddons(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	for _, sa := range addons {
		a, err := b.Addon(ctx, sa.AddonID)
		if err != nil {
			return nil, err
		}
		maps.Copy(opts, a.Options())
	}
	maps.Copy(opts, plan.Options())
	cust := &pb.Customer{AccountId: svc.AccountID}
	var acct struct {
		Name  string `bun:"name"`
		Email string `bun:"email"`
	}
	err = b.db.Conn(ctx).NewSelect().TableExpr("accounts AS a").ColumnExpr("a.name").
		ColumnExpr("(SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.account_id = a.id AND m.role = 'owner' ORDER BY m.created_at LIMIT 1) AS email").
		Where("a.id = ?", svc.AccountID).Scan(ctx, &acct)
	if err != nil {
		return nil, fmt.Errorf("billing: loading the customer of %s: %w", svc.ID, err)
	}
	cust.Name, cust.Email = acct.Name, acct.Email
	return &pb.ServiceRef{ServiceId: svc.ID, ExternalId: svc.ExternalID, PlanOptions: opts, Customer: cust}, nil
}

// Options of an add-on for the provisioner.
func (a *Addon) Options() map[string]string { return decodeOptions(a.PluginOptions) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
