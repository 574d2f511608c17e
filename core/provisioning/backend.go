package provisioning

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/intent"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// The backend jobs: billing decides what a service's backend should be and
// queues a job with each change (services.ProvisionJob when an order's
// service starts provisioning, services.ReadyJob when Create answered that
// the backend is installing, services.SyncJob when a service is suspended,
// unsuspended, ended or changes plan); provisioning works them. Each job
// reads the service, calls its provisioner outside any transaction, and
// hands the outcome back to billing, which records it on the service in
// one transaction with its audit events, notices and refunds.
//
// A failed call is retried by a snooze after billing's RetryDelay (never
// sooner than the plugin's retry-after); a job that fails on its own (a
// database error) is retried by River at billing's NextRetry. A plugin
// whose breaker is open on this replica makes the job wait without
// spending an attempt (waitForPlugin), so a replica where it runs takes
// it. Retries, attempts and the install timeout are billing's settings
// (config `billing`), read from billing.Options: one source for both.

func (s *Service) registerBackendJobs(reg *jobs.Registry) {
	jobs.Add(reg, &provisionWorker{backendWorker[services.ProvisionJob]{s: s, timeout: 5 * time.Minute}})
	jobs.Add(reg, &readyWorker{backendWorker[services.ReadyJob]{s: s, timeout: time.Minute}})
	jobs.Add(reg, &syncWorker{backendWorker[services.SyncJob]{s: s, timeout: 5 * time.Minute}})
}

// backendWorker is what the backend jobs' workers share: a timeout capped
// below the engine's rescue horizon, and billing's retry spacing for a job
// that failed on its own.
type backendWorker[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	s       *Service
	timeout time.Duration
}

func (w *backendWorker[A]) Timeout(*river.Job[A]) time.Duration {
	return w.s.billing.JobTimeout(w.timeout)
}

func (w *backendWorker[A]) NextRetry(job *river.Job[A]) time.Time {
	return w.s.billing.NextRetry(job.Attempt)
}

type provisionWorker struct {
	backendWorker[services.ProvisionJob]
}

// Work calls the plugin's Create with the service id as idempotency key,
// outside any transaction. A failure is recorded on the service (visible to
// the customer and staff) and audited at every attempt; the job retries
// with backoff, never sooner than the plugin's retry-after. When retries
// run out, or the error cannot heal by waiting (bad input, an object the
// backend does not know, unsupported), the service fails, a paid order's
// payment returns to credit and the customer is told. A backend that is
// still installing leaves the service provisioning; readyWorker follows it.
func (w *provisionWorker) Work(ctx context.Context, job *river.Job[services.ProvisionJob]) error {
	s := w.s
	svc, err := s.serviceOf(ctx, job.Args.ServiceID)
	if err != nil {
		return err
	}
	if svc.Status != services.StatusProvisioning || svc.Installing() {
		return nil // done already, cancelled meanwhile, or created and installing
	}
	ref, plan, err := s.backendRef(ctx, svc)
	if err != nil {
		return err
	}
	if s.pluginDown(plan.Plugin) {
		return s.waitForPlugin(ctx, job.JobRow)
	}
	resp, err := s.create(ctx, plan.Plugin, &pb.CreateRequest{Service: ref, IdempotencyKey: svc.ID})
	if err != nil {
		// Bad input, an object the backend does not know, an operation the
		// plugin lacks: waiting cannot heal them (sdk.ErrorKind.Retryable).
		attempt := attemptOf(job.JobRow)
		final := attempt >= s.services.Options().ProvisionMaxAttempts || !sdk.IsRetryable(err)
		if rerr := s.services.RecordProvisionFailure(ctx, svc.ID, plan, attempt, err, final); rerr != nil {
			return rerr
		}
		if final {
			return river.JobCancel(err)
		}
		return s.retryLater(attempt, err)
	}
	return s.services.RecordProvisioned(ctx, svc.ID, plan.ID, plan.Name, resp.GetStatus())
}

// create calls the provisioner's Create under the intent record
// (core/intent): the start is committed before the call and the outcome
// written after it, retried with backoff within the job's budget. Create's
// policy is to repeat with the same key — the provisioner finds the
// service's server at the backend by the service id before creating one —
// so a start found without an outcome (a replica died mid-call, the
// outcome was never written) is started again and the call repeated,
// which creates at most one server.
func (s *Service) create(ctx context.Context, plugin string, req *pb.CreateRequest) (*pb.CreateResponse, error) {
	prov, err := s.backend(plugin)
	if err != nil {
		return nil, err
	}
	key := req.GetIdempotencyKey()
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		begun, err := s.intents.Begin(ctx, tx, []intent.Start{{Key: key, Action: intent.Create, Plugin: plugin,
			ServiceID: req.GetService().GetServiceId(), Subject: "service:" + req.GetService().GetServiceId()}})
		if err != nil || begun[key] {
			return err
		}
		again, err := s.intents.Repeat(ctx, tx, key)
		if err == nil && !again {
			err = fmt.Errorf("provisioning: the create of %s may not be repeated", key)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	resp, callErr := prov.Create(ctx, req)
	out := intent.Outcome{Key: key, State: intent.Classify(callErr)}
	if callErr != nil {
		out.Detail = callErr.Error()
	} else {
		out.Detail = "created " + resp.GetStatus().GetExternalId()
	}
	if err := s.intents.RecordWithRetry(ctx, "create "+key, func(ctx context.Context) error {
		return s.intents.Finish(ctx, s.db.DB, []intent.Outcome{out})
	}); err != nil {
		// The service records the outcome next; if that fails too, the
		// retry repeats the create (safe, see above).
		s.log.Warn("recording the create's outcome failed", "service_id", key, "error", err)
	}
	return resp, callErr
}

type readyWorker struct {
	backendWorker[services.ReadyJob]
}

// Work asks the backend once whether the service is ready.
func (w *readyWorker) Work(ctx context.Context, job *river.Job[services.ReadyJob]) error {
	s := w.s
	svc, err := s.serviceOf(ctx, job.Args.ServiceID)
	if err != nil {
		return err
	}
	if !svc.Installing() {
		return nil // ready already, or cancelled or terminated meanwhile
	}
	ref, plan, err := s.backendRef(ctx, svc)
	if err != nil {
		return err
	}
	var info *pb.GetInfoResponse
	prov, err := s.backend(plan.Plugin)
	if err == nil {
		info, err = prov.GetInfo(ctx, &pb.GetInfoRequest{Service: ref})
	}
	opts, retryMax := s.services.Options(), s.billing.Options().RetryMax
	waited := opts.Now().Sub(job.Args.Since)
	switch {
	case err != nil && !sdk.IsRetryable(err):
		return s.installFailed(ctx, svc.ID, fmt.Sprintf("the backend lost the service while installing it: %v", err))
	case err != nil && waited >= opts.InstallTimeout:
		return s.installFailed(ctx, svc.ID, fmt.Sprintf("the backend did not report the service ready within %s (last: %v)", opts.InstallTimeout, err))
	case err != nil:
		// The backend cannot answer now: say so on the service and ask
		// again, within the install timeout.
		if rerr := s.services.RecordInstallProblem(ctx, svc.ID, err); rerr != nil {
			return rerr
		}
		return river.JobSnooze(max(opts.InstallPollInterval, min(sdk.RetryAfterOf(err), retryMax)))
	}
	st := info.GetStatus()
	switch st.GetState() {
	case pb.ServiceState_SERVICE_STATE_ERROR:
		return s.installFailed(ctx, svc.ID, "the backend reports that the installation failed")
	case pb.ServiceState_SERVICE_STATE_PENDING:
		if waited >= opts.InstallTimeout {
			return s.installFailed(ctx, svc.ID, fmt.Sprintf("the backend was still installing it after %s", opts.InstallTimeout))
		}
		return river.JobSnooze(opts.InstallPollInterval)
	}
	return s.services.ActivateInstalled(ctx, svc.ID, st.GetAttributes(), plan.Name)
}

// installFailed fails a service whose backend never became ready and ends
// the readiness job.
func (s *Service) installFailed(ctx context.Context, serviceID, reason string) error {
	if err := s.services.FailInstall(ctx, serviceID, reason); err != nil {
		return err
	}
	return river.JobCancel(fmt.Errorf("provisioning: %s", reason))
}

type syncWorker struct {
	backendWorker[services.SyncJob]
}

// Work makes at most a few calls, re-reading the service after each, so a
// change made while it ran is followed too. Every call's idempotency key
// carries the wanted-state version, so a retried job never repeats a call
// the backend already acted on and a new version is a new call. A failed
// call is written on the service (last_error, with backend_state still the
// backend's last confirmed state) and retried with backoff, never sooner
// than the plugin's retry-after; the daily run re-queues a service still
// out of step after the attempts.
//
// The sync jobs of one service take turns (jobs.RunningAhead): a job queued
// by a later change (a termination) while an earlier one is still calling
// the backend (a suspension) waits for it, without spending an attempt,
// and then converges from what that call left. Two calls about one server
// at once could land in either order, and the state recorded after them
// would be a guess.
func (w *syncWorker) Work(ctx context.Context, job *river.Job[services.SyncJob]) error {
	s := w.s
	ahead, err := jobs.RunningAhead(ctx, job.JobRow, func(args []byte) bool {
		var other services.SyncJob
		return json.Unmarshal(args, &other) == nil && other.ServiceID == job.Args.ServiceID
	})
	if err != nil {
		return err
	}
	if ahead {
		return s.wait(ctx, job.JobRow, func(o *waitOutput) { o.TurnWaits++ })
	}
	for range 4 {
		svc, err := s.serviceOf(ctx, job.Args.ServiceID)
		if err != nil {
			return err
		}
		done, err := s.syncOnce(ctx, svc)
		if errors.Is(err, errPluginDown) {
			return s.waitForPlugin(ctx, job.JobRow)
		}
		if err != nil {
			attempt := attemptOf(job.JobRow)
			final := attempt >= s.services.Options().ProvisionMaxAttempts || !sdk.IsRetryable(err)
			if rerr := s.services.RecordSyncFailure(ctx, svc, err, final); rerr != nil {
				return rerr
			}
			if final {
				return river.JobCancel(err)
			}
			return s.retryLater(attempt, err)
		}
		if done {
			return nil
		}
	}
	return nil
}

// syncOnce makes the one call that brings the backend closer to the wanted
// state (services.NextBackendStep) and has billing record it; done reports
// there was nothing left to do.
func (s *Service) syncOnce(ctx context.Context, svc *services.Service) (bool, error) {
	step := services.NextBackendStep(svc)
	if step.Action == "" {
		return true, nil
	}
	ref, plan, err := s.backendRef(ctx, svc)
	if err != nil {
		return false, err
	}
	if s.pluginDown(plan.Plugin) {
		return false, errPluginDown
	}
	prov, err := s.backend(plan.Plugin)
	if err != nil {
		return false, err
	}
	key := fmt.Sprintf("%s:%s:v%d", step.Action, svc.ID, svc.StateVersion)
	switch step.Action {
	case services.BackendTerminate:
		_, err = prov.Terminate(ctx, &pb.TerminateRequest{Service: ref, IdempotencyKey: key})
	case services.BackendSuspend:
		reasons, lerr := s.services.Suspensions(ctx, svc.ID, true)
		if lerr != nil {
			return false, lerr
		}
		reason := ""
		if len(reasons) > 0 {
			reason = reasons[0].Reason
		}
		_, err = prov.Suspend(ctx, &pb.SuspendRequest{Service: ref, IdempotencyKey: key, Reason: reason})
	case services.BackendUnsuspend:
		_, err = prov.Unsuspend(ctx, &pb.UnsuspendRequest{Service: ref, IdempotencyKey: key})
	case services.BackendChangePlan:
		_, err = prov.ChangePlan(ctx, &pb.ChangePlanRequest{Service: ref, IdempotencyKey: key, NewPlanOptions: ref.GetPlanOptions()})
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", step.Action, err)
	}
	return false, s.services.RecordBackendStep(ctx, svc, step)
}

// serviceOf loads the service a backend job is for; one that no longer
// exists ends the job.
func (s *Service) serviceOf(ctx context.Context, id string) (*services.Service, error) {
	svc, err := s.services.Service(ctx, "", id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, river.JobCancel(err)
	}
	return svc, err
}

// backend is the provisioner plugin name, for the backend jobs. Errors:
// Unavailable (no host, or the plugin is not running), which is retried.
func (s *Service) backend(name string) (sdk.ProvisionerClient, error) {
	if s.plugins == nil {
		return nil, sdk.Errorf(sdk.Unavailable, "no plugin host is running")
	}
	prov, err := s.plugins.Provisioner(name)
	if err != nil {
		return nil, fmt.Errorf("provisioner plugin %q: %w", name, err)
	}
	return prov, nil
}

// errPluginDown: the service's plugin is down on this replica.
var errPluginDown = errors.New("the plugin is down on this replica")

// pluginDown reports whether the plugin will not run on this replica until
// an admin acts (its breaker is open): its jobs (provisioning, backend
// sync) snooze instead of spending attempts, so a replica where it runs
// takes them.
func (s *Service) pluginDown(name string) bool {
	return s.plugins != nil && pluginhost.DownOn(s.plugins, name)
}

// retryLater ends a job whose plugin call failed: it runs again after
// billing's RetryDelay. A snooze, unlike an error, lets the job choose the
// delay; it does not count as one of River's attempts, so attemptOf counts
// them.
func (s *Service) retryLater(attempt int, cause error) error {
	return river.JobSnooze(s.billing.RetryDelay(attempt, cause))
}

// attemptOf is the number of the job's current attempt, counting the runs
// that ended in a snooze (a retried plugin call) as River does not, but not
// the runs that waited, for a plugin down on their replica or for their
// turn (wait): those never called it.
func attemptOf(row *rivertype.JobRow) int {
	var meta struct {
		Snoozes int        `json:"snoozes"`
		Output  waitOutput `json:"output"`
	}
	_ = json.Unmarshal(row.Metadata, &meta)
	return row.Attempt + meta.Snoozes - meta.Output.PluginDownWaits - meta.Output.TurnWaits
}

// waitOutput is the output a job records (river.RecordOutput, kept in its
// metadata across snoozes) each time it waits without calling its plugin.
type waitOutput struct {
	PluginDownWaits int `json:"plugin_down_waits,omitempty"`
	TurnWaits       int `json:"turn_waits,omitempty"`
}

// waitForPlugin snoozes a job whose plugin is down on this replica, without
// spending an attempt: another replica where the plugin runs may take the
// job meanwhile.
func (s *Service) waitForPlugin(ctx context.Context, row *rivertype.JobRow) error {
	return s.wait(ctx, row, func(o *waitOutput) { o.PluginDownWaits++ })
}

// wait snoozes a job for billing's first retry delay without spending an
// attempt: count records the wait in its output, which attemptOf takes
// away.
func (s *Service) wait(ctx context.Context, row *rivertype.JobRow, count func(*waitOutput)) error {
	var meta struct {
		Output waitOutput `json:"output"`
	}
	_ = json.Unmarshal(row.Metadata, &meta)
	count(&meta.Output)
	if err := river.RecordOutput(ctx, meta.Output); err != nil {
		return err
	}
	return river.JobSnooze(s.billing.Options().RetryBase)
}
