package billing

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing/pluginoption"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/jobs"
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
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: jobs.LiveStates}}
}

type provisionWorker struct {
	river.WorkerDefaults[provisionArgs]
	b *Billing
}

func (w *provisionWorker) Timeout(*river.Job[provisionArgs]) time.Duration {
	return w.b.timeout(5 * time.Minute)
}

// NextRetry spaces the retries of a job that failed on its own (a database
// error); a failed plugin call is retried by a snooze (retryLater).
func (w *provisionWorker) NextRetry(job *river.Job[provisionArgs]) time.Time {
	return w.b.nextRetry(job.Attempt)
}

// nextRetry doubles the delay per attempt from RetryBase up to RetryMax.
func (b *Billing) nextRetry(attempt int) time.Time {
	return time.Now().Add(b.backoff(attempt))
}

// backoff is the delay after the attempt-th failure: RetryBase doubling per
// attempt, at most RetryMax.
func (b *Billing) backoff(attempt int) time.Duration {
	d := b.opts.RetryBase
	for i := 1; i < attempt && d < b.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, b.opts.RetryMax)
}

// retryDelay is when a failed plugin call is tried again: the backoff, but
// never sooner than the plugin's retry-after hint (a rate-limited or full
// backend knows better than our doubling), and never later than RetryMax.
func (b *Billing) retryDelay(attempt int, cause error) time.Duration {
	return min(max(b.backoff(attempt), sdk.RetryAfterOf(cause)), b.opts.RetryMax)
}

// retryLater ends a job whose plugin call failed: it runs again after
// retryDelay. A snooze, unlike an error, lets the job choose the delay; it
// does not count as one of River's attempts, so attemptOf counts them.
func (b *Billing) retryLater(attempt int, cause error) error {
	return river.JobSnooze(b.retryDelay(attempt, cause))
}

// attemptOf is the number of the job's current attempt, counting the runs
// that ended in a snooze (a retried plugin call) as River does not, but not
// the runs that waited for a plugin down on their replica (waitForPlugin):
// those never called it.
func attemptOf(row *rivertype.JobRow) int {
	var meta struct {
		Snoozes int        `json:"snoozes"`
		Output  waitOutput `json:"output"`
	}
	_ = json.Unmarshal(row.Metadata, &meta)
	return row.Attempt + meta.Snoozes - meta.Output.PluginDownWaits
}

// waitOutput is the output a job records (river.RecordOutput, kept in its
// metadata across snoozes) each time it waits for its plugin.
type waitOutput struct {
	PluginDownWaits int `json:"plugin_down_waits,omitempty"`
}

// waitForPlugin snoozes a job whose plugin is down on this replica, without
// spending an attempt: the wait is counted apart (attemptOf) and another
// replica where the plugin runs may take the job meanwhile.
func (b *Billing) waitForPlugin(ctx context.Context, row *rivertype.JobRow) error {
	var meta struct {
		Output waitOutput `json:"output"`
	}
	_ = json.Unmarshal(row.Metadata, &meta)
	if err := river.RecordOutput(ctx, waitOutput{PluginDownWaits: meta.Output.PluginDownWaits + 1}); err != nil {
		return err
	}
	return river.JobSnooze(b.opts.RetryBase)
}

// Work calls the plugin's Create with the service id as idempotency key,
// outside any transaction. A failure is recorded on the service (visible to
// the customer and staff) and audited at every attempt; the job retries
// with backoff, never sooner than the plugin's retry-after. When retries
// run out, or the error cannot heal by waiting (bad input, an object the
// backend does not know, unsupported), the service fails, a paid order's payment returns to
// credit and the customer is told. A backend that is still installing
// leaves the service provisioning; readyWorker follows it.
func (w *provisionWorker) Work(ctx context.Context, job *river.Job[provisionArgs]) error {
	b := w.b
	svc, err := b.Service(ctx, "", job.Args.ServiceID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if svc.Status != StatusProvisioning || svc.BackendState == backendInstalling {
		return nil // done already, cancelled meanwhile, or created and installing
	}
	plan, err := b.catalog.PlanTx(ctx, b.db.Conn(ctx), svc.PlanID)
	if err != nil {
		return err
	}
	ref, err := b.serviceRef(ctx, svc, plan)
	if err != nil {
		return err
	}
	if b.pluginDown(plan.Plugin) {
		return b.waitForPlugin(ctx, job.JobRow)
	}
	resp, err := b.createAtBackend(ctx, plan, svc, ref)
	if err != nil {
		return b.provisionFailed(ctx, svc, plan, attemptOf(job.JobRow), err)
	}
	return b.recordProvisioned(ctx, svc.ID, plan.ID, plan.Name, resp.GetStatus())
}

// createAtBackend is the one Create call of a provisioning attempt.
func (b *Billing) createAtBackend(ctx context.Context, plan *catalog.Plan, svc *Service, ref *pb.ServiceRef) (*pb.CreateResponse, error) {
	return b.create(ctx, plan.Plugin, &pb.CreateRequest{Service: ref, IdempotencyKey: svc.ID})
}

// provisionFailed records a failed attempt and decides what comes next: a
// retry after retryDelay, or (attempts spent, or an error that waiting
// cannot heal) the end of the job with the service failed.
func (b *Billing) provisionFailed(ctx context.Context, svc *Service, plan *catalog.Plan, attempt int, cause error) error {
	// Bad input, an object the backend does not know, an operation the
	// plugin lacks: waiting cannot heal them (sdk.ErrorKind.Retryable).
	final := attempt >= b.opts.ProvisionMaxAttempts || !sdk.IsRetryable(cause)
	if err := b.recordProvisionFailure(ctx, svc.ID, plan, attempt, cause, final); err != nil {
		return err
	}
	if final {
		return river.JobCancel(cause)
	}
	return b.retryLater(attempt, cause)
}

func failureEvent(svc *Service, attempt int, msg string) audit.Event {
	return audit.Event{
		Action: "billing.service.provision_failed", Result: audit.Failure, AccountID: svc.AccountID,
		TargetType: "service", TargetID: svc.ID, Changes: map[string]any{"attempts": attempt, "error": msg},
	}
}

func (b *Billing) recordProvisionFailure(ctx context.Context, serviceID string, plan *catalog.Plan, attempt int, cause error, final bool) error {
	msg := truncate(cause.Error(), 500)
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		if final {
			// The refund posts to the ledger: take the account's lock before
			// the service's, in the order every other path takes them.
			if err := b.lockAccountOf(ctx, t, "services", serviceID); err != nil {
				return err
			}
		}
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning {
			return nil
		}
		if sdk.IsKind(cause, sdk.Capacity) {
			if err := b.alertCapacity(ctx, t, svc, plan, msg); err != nil {
				return err
			}
		}
		svc.ProvisionAttempts, svc.LastError = attempt, msg
		if !final {
			svc.UpdatedAt = b.now()
			if _, err := t.NewUpdate().Model(svc).WherePK().Column("provision_attempts", "last_error", "updated_at").Exec(ctx); err != nil {
				return fmt.Errorf("billing: recording provisioning failure: %w", err)
			}
			t.Audit("billing.service.provision_retry", svc.AccountID, "service", svc.ID, map[string]any{"attempt": attempt, "error": msg})
			return nil
		}
		return b.failProvisioning(ctx, t, svc, attempt, msg, "it could not be set up: "+msg)
	})
}

// alertCapacity tells staff, once per provisioning run of a service, that
// its backend has no room: a shortage heals only when someone adds a node,
// allocations or addresses. The attempts go on meanwhile.
func (b *Billing) alertCapacity(ctx context.Context, t *txn, svc *Service, plan *catalog.Plan, msg string) error {
	key := fmt.Sprintf("billing.capacity:%s:v%d", svc.ID, svc.StateVersion)
	t.Audit("billing.service.capacity_shortage", svc.AccountID, "service", svc.ID, map[string]any{"plugin": plan.Plugin, "plan": plan.ID, "error": msg})
	return b.tell(ctx, t, notify.Event{Type: notify.AdminAlert, Key: key, Link: "/admin/services/" + svc.ID,
		Data: map[string]any{
			"title": fmt.Sprintf("No capacity at %s for plan %s", plan.Plugin, plan.Name),
			"message": fmt.Sprintf("Service %s (plan %s, plugin %s) cannot be created: %s. Provisioning is retried with backoff (%d attempts); "+
				"add capacity at the backend, or the order fails and its payment returns to the customer's credit.",
				svc.ID, plan.Slug, plan.Plugin, msg, b.opts.ProvisionMaxAttempts),
		}})
}

// recordProvisioned stores what Create returned. A backend that is ready
// makes the service active; one still installing (PENDING, or an install
// already failed: ERROR) leaves it provisioning with backend_state
// "installing", and a readiness job polls the backend until it is ready.
func (b *Billing) recordProvisioned(ctx context.Context, serviceID, planID, planName string, st *pb.ServiceStatus) error {
	return b.inTx(ctx, func(ctx context.Context, t *txn) error {
		svc, err := b.serviceTx(ctx, t, serviceID, true)
		if err != nil {
			return err
		}
		if svc.Status != StatusProvisioning {
			return nil
		}
		svc.ExternalID, svc.Attributes = st.GetExternalId(), encodeJSON(nonNil(st.GetAttributes()))
		// The create call carried the add-ons' options as they were then.
		svc.BackendPlanID, svc.BackendOptionsVersion, svc.LastError = planID, svc.OptionsVersion, ""
		if installing(st.GetState()) {
			return b.startWaitingForBackend(ctx, t, svc)
		}
		return b.activate(ctx, t, svc, planID, planName)
	})
}

// activate makes a service whose backend is ready active and tells the
// customer.
func (b *Billing) activate(ctx context.Context, t *txn, svc *Service, planID, planName string) error {
	now := b.now()
	svc.BackendState, svc.ActivatedAt, svc.LastError = backendActive, &now, ""
	if err := b.setStatus(ctx, t, svc, StatusActive, "external_id", "attributes", "backend_state", "backend_plan_id", "backend_options_version", "activated_at", "last_error"); err != nil {
		return err
	}
	if svc.PlanID != planID {
		b.enqueueSync(t, svc) // the plan changed while it was created
	}
	t.Audit("billing.service.provisioned", svc.AccountID, "service", svc.ID, map[string]any{"external_id": svc.ExternalID})
	return b.tell(ctx, t, notify.Event{Type: notify.ServiceProvisioned, AccountID: svc.AccountID, Link: "/services/" + svc.ID,
		Data: map[string]any{"service_id": svc.ID, "service_name": b.serviceName(ctx, t, svc), "plan": planName}})
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
		refunded, err := t.NewSelect().Model((*Invoice)(nil)).Where("service_id = ?", svc.ID).Where("reason = ?", ReasonOrder).
			Where("status = ?", InvoiceVoid).Where("void_reason = ?", refundReason).Exists(ctx)
		if err != nil {
			return fmt.Errorf("billing: checking the order of %s: %w", svc.ID, err)
		}
		if refunded {
			return apperr.New(apperr.Conflict, "the order's payment was returned to the customer's credit when it failed; the customer orders again").WithReason("order_refunded")
		}
		if svc.ExternalID != "" {
			return apperr.New(apperr.Conflict, "the backend created this service and it failed to install; it is removed there, and the customer orders again").WithReason("created_at_backend")
		}
		svc.ProvisionAttempts, svc.LastError = 0, ""
		if err := b.setStatus(ctx, t, svc, StatusProvisioning, "provision_attempts", "last_error"); err != nil {
			return err
		}
		t.Enqueue(provisionArgs{ServiceID: svc.ID, Version: svc.StateVersion}, nil)
		t.Audit("billing.service.provision_restart", svc.AccountID, "service", svc.ID, nil)
		return nil
	})
	return svc, err
}

// serviceRef is what the provisioner is told about a service: the options
// its plugin declares (the plan's over the add-ons', and the customer's
// choices the plan offers; see pluginoption.View), and the customer.
// Errors: Unavailable when the plugin never described its options.
func (b *Billing) serviceRef(ctx context.Context, svc *Service, plan *catalog.Plan) (*pb.ServiceRef, error) {
	decl, err := b.OptionDeclaration(ctx, plan.Plugin)
	if err != nil {
		return nil, err
	}
	addons, err := b.ServiceAddons(ctx, svc.ID)
	if err != nil {
		return nil, err
	}
	var addonOptions []map[string]string
	for _, sa := range addons {
		a, err := b.catalog.FindAddon(ctx, b.db.Conn(ctx), sa.AddonID)
		if err != nil {
			return nil, err
		}
		addonOptions = append(addonOptions, a.Options())
	}
	custs, err := b.accounts.Customers(ctx, b.db.Conn(ctx), []string{svc.AccountID})
	if err != nil {
		return nil, fmt.Errorf("billing: loading the customer of %s: %w", svc.ID, err)
	}
	return refOf(svc, plan, decl, addonOptions, custs[svc.AccountID]), nil
}

// refOf is the one description of a service its provisioner gets: the
// options its plugin declares (the add-ons' under the plan's under the
// customer's, see pluginoption.View) and the customer. Every path that
// calls a provisioner about a service builds it here, so Create, a sync,
// a power action and a scheduled task tell the plugin the same.
func refOf(svc *Service, plan *catalog.Plan, decl pluginoption.Declaration, addonOptions []map[string]string, cust accounts.Customer) *pb.ServiceRef {
	src := pluginoption.Sources{Plan: plan.Options(), Offered: plan.Offered(), Customer: decodeOptions(svc.Options), Addons: addonOptions}
	return &pb.ServiceRef{
		ServiceId: svc.ID, ExternalId: svc.ExternalID, PlanOptions: pluginoption.View(decl.Options, src),
		Customer: &pb.Customer{AccountId: svc.AccountID, Name: cust.Name, Email: cust.Email},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
