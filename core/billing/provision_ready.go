package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// backendInstalling: Create succeeded but the backend is still installing
// (a game server's egg, a VPS's OS build, a workspace starting). The
// service stays provisioning until the backend reports it ready.
const backendInstalling = "installing"

// installing reports whether a state returned by Create means the backend
// is not ready yet: still installing, or already failed doing so (the
// readiness job then fails the service with the backend's word).
func installing(st pb.ServiceState) bool {
	return st == pb.ServiceState_SERVICE_STATE_PENDING || st == pb.ServiceState_SERVICE_STATE_ERROR
}

// readyArgs polls the backend of a service created but still installing,
// one GetInfo call per run, until it is ready, reports a failed install,
// or InstallTimeout has passed since Since (then the service fails). Each
// run that finds it still installing snoozes for InstallPollInterval: a
// short job repeated, never a long wait inside one.
type readyArgs struct {
	ServiceID string `json:"service_id" river:"unique"`
	Version   int    `json:"version" river:"unique"`
	// Since is when Create answered (the billing clock).
	Since time.Time `json:"since"`
}

func (readyArgs) Kind() string { return "billing_provision_ready" }

// InsertOpts: one live job per service and version.
func (readyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

type readyWorker struct {
	river.WorkerDefaults[readyArgs]
	b *Billing
}

func (w *readyWorker) Timeout(*river.Job[readyArgs]) time.Duration { return w.b.timeout(time.Minute) }

func (w *readyWorker) NextRetry(job *river.Job[readyArgs]) time.Time {
	return w.b.nextRetry(job.Attempt)
}

// startWaitingForBackend records a created service whose backend is still
// installing and queues the first readiness poll.
func (b *Billing) startWaitingForBackend(ctx context.Context, t *txn, svc *Service) error {
	svc.BackendState, svc.UpdatedAt = backendInstalling, b.now()
	if _, err := t.NewUpdate().Model(svc).WherePK().Column("external_id", "attributes", "backend_state", "backend_plan_id",
		"backend_options_version", "last_error", "updated_at").Exec(ctx); err != nil {
		return fmt.Errorf("billing: recording the installing backend of %s: %w", svc.ID, err)
	}
	t.Audit("billing.service.backend_installing", svc.AccountID, "service", svc.ID, map[string]any{"external_id": svc.ExternalID})
	t.Enqueue(readyArgs{ServiceID: svc.ID, Version: svc.StateVersion, Since: b.now()},
		&river.InsertOpts{ScheduledAt: time.Now().Add(b.opts.InstallPollInterval)})
	return nil
}

// Work asks the backend once whether the service is ready.
func (w *readyWorker) Work(ctx context.Context, job *river.Job[readyArgs]) error {
	b := w.b
	svc, err := b.Service(ctx, "", job.Args.ServiceID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if svc.Status != StatusProvisioning || svc.BackendState != backendInstalling {
		return nil // ready already, or cancelled or terminated meanwhile
	}
	plan, err := b.catalog.PlanTx(ctx, b.db.Conn(ctx), svc.PlanID)
	if err != nil {
		return err
	}
	ref, err := b.serviceRef(ctx, svc, plan)
	if err != nil {
		return err
	}
	var info *pb.GetInfoResponse
	prov, err := b.provisioner(plan.Plugin)
	if err == nil {
		info, err = prov.GetInfo(ctx, &pb.GetInfoRequest{Service: ref})
	}
	waited := b.now().Sub(job.Args.Since)
	switch {
	case err != nil && !sdk.IsRetryable(err):
		return b.installFailed(ctx, svc.ID, fmt.Sprintf("the backend lost the service while installing it: %v", err))
	case err != nil && waited >= b.opts.InstallTimeout:
		return b.installFailed(ctx, svc.ID, fmt.Sprintf("the backend did not report the service ready within %s (last: %v)", b.opts.InstallTimeout, err))
	case err != nil:
		// The backend cannot answer now: say so on the service and ask
		// again, within the install timeout.
		if rerr := b.recordInstallProblem(ctx, svc.ID, err); rerr != nil {
			return rerr
		}
		return river.JobSnooze(max(b.opts.InstallPollInterval, min(sdk.RetryAfterOf(err), b.opts.RetryMax)))
	}
	st := info.GetStatus()
	switch st.GetState() {
	case pb.ServiceState_SERVICE_STATE_ERROR:
		return b.installFailed(ctx, svc.ID, "the backend reports that the installation failed")
	case pb.ServiceState_SERVICE_STATE_PENDING:
		if waited >= b.opts.InstallTimeout {
			return b.installFailed(ctx, svc.ID, fmt.Sprintf("the backend was still installing it after %s", b.opts.InstallTimeout))
		}
		return river.JobSnooze(b.opts.InstallPollInterval)
	}
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		cur, err := b.serviceTx(ctx, t, svc.ID, true)
		if err != nil {
			return err
		}
		if cur.Status != StatusProvisioning || cur.BackendState != backendInstalling {
			return nil
		}
		if len(st.GetAttributes()) > 0 {
			cur.Attributes = encodeJSON(st.GetAttributes())
		}
		return b.activate(ctx, t, cur, cur.BackendPlanID, plan.Name)
	})
}

// recordInstallProblem shows why the readiness of a service cannot be
// read now, without failing it.
func (b *Billing) recordInstallProblem(ctx context.Context, serviceID string, cause error) error {
	msg := truncate(cause.Error(), 500)
	_, err := b.db.Conn(ctx).NewUpdate().Model((*Service)(nil)).Set("last_error = ?", msg).Set("updated_at = ?", b.now()).
		Where("id = ?", serviceID).Where("status = ?", StatusProvisioning).Exec(ctx)
	if err != nil {
		return fmt.Errorf("billing: recording the install problem of %s: %w", serviceID, err)
	}
	return nil
}

// installFailed fails a service whose backend never became ready.
func (b *Billing) installFailed(ctx context.Context, serviceID, reason string) error {
	err := b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if err := b.lockAccountOf(ctx, t, "services", serviceID); err != nil {
			return err
		}
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning || svc.BackendState != backendInstalling {
			return nil
		}
		svc.LastError = truncate(reason, 500)
		return b.failProvisioning(ctx, t, svc, svc.ProvisionAttempts, svc.LastError, reason)
	})
	if err != nil {
		return err
	}
	return river.JobCancel(fmt.Errorf("billing: %s", reason))
}

// refundReason is the void reason of an order invoice whose payment was
// returned because its service could not be provisioned.
const refundReason = "the service could not be provisioned; the payment was returned to credit"

// failProvisioning ends a provisioning for good: the service is failed
// (its reason in last_error), audited, the customer and staff are told,
// the order's payment returns to the account's credit, and a server the
// backend created but never finished installing is terminated there. svc is locked
// in t, and so is the account's balance when the order was paid.
func (b *Billing) failProvisioning(ctx context.Context, t *txn, svc *Service, attempt int, msg, reason string) error {
	svc.ProvisionAttempts, svc.LastError = attempt, msg
	if err := b.setStatus(ctx, t, svc, StatusFailed, "provision_attempts", "last_error"); err != nil {
		return err
	}
	t.AuditEvent(failureEvent(svc, attempt, msg))
	if svc.BackendState == backendInstalling {
		b.enqueueSync(t, svc) // the half-made server goes: the order is refunded
	}
	if err := b.tell(ctx, t, notify.Event{Type: notify.ServiceFailed, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
		Data: map[string]any{"service_id": svc.ID, "service_name": b.serviceName(ctx, t, svc), "reason": reason}}); err != nil {
		return err
	}
	return b.refundOrder(ctx, t, svc)
}

// refundOrder voids the paid order invoice of a service that could not be
// provisioned: what was paid returns to credit through the ledger (key
// "void:<invoice id>", so at most once whatever retries), and the billing
// members are told.
func (b *Billing) refundOrder(ctx context.Context, t *txn, svc *Service) error {
	var inv Invoice
	err := t.NewSelect().Model(&inv).Where("service_id = ?", svc.ID).Where("reason = ?", ReasonOrder).
		Where("status = ?", InvoicePaid).Where("amount_paid > 0").OrderExpr("created_at DESC").Limit(1).Scan(ctx)
	if database.IsNoRows(err) {
		return nil // a free order, or one refunded already
	}
	if err != nil {
		return fmt.Errorf("billing: loading the order of %s: %w", svc.ID, err)
	}
	if err := b.voidTx(ctx, t, &inv, refundReason); err != nil {
		return err
	}
	t.Audit("billing.invoice.void", inv.AccountID, "invoice", inv.ID, map[string]any{"reason": refundReason, "refunded_to_credit": inv.AmountPaid, "service": svc.ID})
	data := invoiceData(&inv)
	data["amount"], data["service_id"], data["service_name"] = inv.AmountPaid, svc.ID, b.serviceName(ctx, t, svc)
	return b.tell(ctx, t, notify.Event{Type: notify.OrderRefunded, AccountID: svc.AccountID, Link: "/credit", Key: "order.refunded:" + inv.ID, Data: data})
}
