package scheduler

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/intent"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Recovery states.
const (
	StateUnknown = "unknown"
	StateUp      = "up"
	StateDown    = "down"
	StateGaveUp  = "gave_up"
)

// RecoveryConfig is a service's auto-recovery.
type RecoveryConfig struct {
	bun.BaseModel `bun:"table:recovery_configs"`

	ServiceID   string     `bun:"service_id,pk" json:"service_id"`
	AccountID   string     `bun:"account_id" json:"account_id"`
	Enabled     bool       `bun:"enabled" json:"enabled"`
	CheckType   string     `bun:"check_type" json:"check_type"`
	Target      string     `bun:"target" json:"target"`
	Port        int        `bun:"port" json:"port"`
	MaxPerHour  int        `bun:"max_per_hour" json:"max_attempts_per_hour"`
	Notify      bool       `bun:"notify" json:"notify"`
	State       string     `bun:"state" json:"state"`
	LastCheckAt *time.Time `bun:"last_check_at" json:"last_check_at"`
	LastError   string     `bun:"last_error" json:"last_error"`
	NextCheckAt time.Time  `bun:"next_check_at" json:"next_check_at"`
	CreatedAt   time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at" json:"updated_at"`
}

// RecoveryAttempt is one failed check and what it led to.
type RecoveryAttempt struct {
	bun.BaseModel `bun:"table:recovery_attempts"`

	ID          string     `bun:"id,pk" json:"id"`
	ServiceID   string     `bun:"service_id" json:"service_id"`
	AccountID   string     `bun:"account_id" json:"-"`
	SlotAt      time.Time  `bun:"slot_at" json:"checked_at"`
	CheckType   string     `bun:"check_type" json:"check_type"`
	CheckError  string     `bun:"check_error" json:"check_error"`
	Action      string     `bun:"action" json:"action"`
	Status      string     `bun:"status" json:"status"`
	Error       string     `bun:"error" json:"error"`
	CreatedAt   time.Time  `bun:"created_at" json:"created_at"`
	CompletedAt *time.Time `bun:"completed_at" json:"completed_at"`
}

// RecoveryInput sets a service's auto-recovery.
type RecoveryInput struct {
	// Enabled defaults to true.
	Enabled   *bool  `json:"enabled"`
	CheckType string `json:"check_type"`
	// Target is the URL (http) or the host name or IP address (tcp, ping).
	Target string `json:"target"`
	// Port is required for tcp; for ping it is the TCP fallback's port.
	Port int `json:"port"`
	// MaxPerHour restarts at most (1-12, default 3).
	MaxPerHour *int `json:"max_attempts_per_hour"`
	// Notify the customer of each restart (default true). Giving up is
	// always notified.
	Notify *bool `json:"notify"`
}

func (in *RecoveryInput) validate() error {
	var errs apperr.Fields
	in.Target = strings.TrimSpace(in.Target)
	if !slices.Contains([]string{CheckHTTP, CheckTCP, CheckPing}, in.CheckType) {
		errs.Add("check_type", "must be http, tcp or ping")
	} else if msg := validTarget(in.CheckType, in.Target); msg != "" {
		errs.Add("target", "%s", msg)
	}
	switch {
	case in.Port < 0 || in.Port > 65535:
		errs.Add("port", "must be from 1 to 65535")
	case in.CheckType == CheckTCP && in.Port == 0:
		errs.Add("port", "is required for a tcp check")
	case in.CheckType == CheckHTTP && in.Port != 0:
		errs.Add("port", "is part of the URL for an http check")
	}
	if in.MaxPerHour != nil && (*in.MaxPerHour < 1 || *in.MaxPerHour > 12) {
		errs.Add("max_attempts_per_hour", "must be from 1 to 12")
	}
	return errs.Err()
}

func (s *Service) prober() *prober {
	return &prober{timeout: s.opts.CheckTimeout, allowPrivate: s.opts.AllowPrivate, lookup: s.opts.LookupIP}
}

// offset is the service's stable place in the check interval, so checks
// of many services spread over the interval instead of bunching up.
func (s *Service) offset(serviceID string) time.Duration {
	h := fnv.New64a()
	_, _ = h.Write([]byte(serviceID))
	steps := uint64(s.opts.RecoveryInterval / time.Millisecond)
	return time.Duration(h.Sum64()%steps) * time.Millisecond
}

// slotAfter is the service's first check slot at or after t.
func (s *Service) slotAfter(serviceID string, t time.Time) time.Time {
	slot := t.Truncate(s.opts.RecoveryInterval).Add(s.offset(serviceID))
	if slot.Before(t) {
		slot = slot.Add(s.opts.RecoveryInterval)
	}
	return slot.UTC()
}

// SetRecovery creates or replaces a service's auto-recovery. Saving it
// re-arms a recovery that gave up. Errors: NotFound (the service), Invalid
// naming the field, Unprocessable on target (reason target_not_public) for
// a target that is not a public address, Unprocessable on check_type when
// the provisioner has no power action (reason not_supported), Unavailable.
func (s *Service) SetRecovery(ctx context.Context, accountID, serviceID string, in RecoveryInput) (*RecoveryConfig, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	// Resolving the name is network I/O: before, never inside, the
	// transaction.
	if msg := s.prober().publicTarget(ctx, in.CheckType, in.Target); msg != "" {
		return nil, &apperr.Error{Code: apperr.Unprocessable, Reason: "target_not_public", Message: "auto-recovery may only probe public addresses",
			Fields: []apperr.FieldError{{Field: "target", Message: msg}}}
	}
	now := s.now()
	c := &RecoveryConfig{
		ServiceID: serviceID, AccountID: accountID, Enabled: in.Enabled == nil || *in.Enabled, CheckType: in.CheckType,
		Target: in.Target, Port: in.Port, MaxPerHour: 3, Notify: in.Notify == nil || *in.Notify, State: StateUnknown,
		NextCheckAt: s.slotAfter(serviceID, now), CreatedAt: now, UpdatedAt: now,
	}
	if in.MaxPerHour != nil {
		c.MaxPerHour = *in.MaxPerHour
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		svc, err := s.service(ctx, tx, accountID, serviceID, "")
		if err != nil {
			return err
		}
		if err := s.checkSupported(svc, TypeReboot); err != nil {
			if e, ok := apperr.As(err); ok && e.Reason == "not_supported" {
				e.Fields[0].Field = "check_type"
				e.Fields[0].Message = "auto-recovery needs a provisioner with a power action; this service's has none"
			}
			return err
		}
		if err := tx.NewInsert().Model(c).On("CONFLICT (service_id) DO UPDATE").
			Set("enabled = EXCLUDED.enabled, check_type = EXCLUDED.check_type, target = EXCLUDED.target, port = EXCLUDED.port").
			Set("max_per_hour = EXCLUDED.max_per_hour, notify = EXCLUDED.notify, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at").
			Returning("*").Scan(ctx); err != nil {
			return fmt.Errorf("scheduler: storing recovery of %s: %w", serviceID, err)
		}
		if !c.Enabled {
			// A check that no longer runs says no longer that it is down.
			if err := s.runHealthHooks(ctx, tx, HealthChange{AccountID: accountID, ServiceID: serviceID, State: StateUp}); err != nil {
				return err
			}
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.recovery.set", AccountID: accountID, TargetType: "service", TargetID: serviceID,
			Changes: map[string]any{"enabled": c.Enabled, "check_type": c.CheckType, "target": c.Target, "port": c.Port, "max_attempts_per_hour": c.MaxPerHour, "notify": c.Notify}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Recovery returns a service's auto-recovery. Errors: NotFound.
func (s *Service) Recovery(ctx context.Context, accountID, serviceID string) (*RecoveryConfig, error) {
	c := &RecoveryConfig{}
	err := s.db.Conn(ctx).NewSelect().Model(c).Where("service_id = ?", serviceID).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("this service has no auto-recovery")
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: loading recovery of %s: %w", serviceID, err)
	}
	return c, nil
}

// DeleteRecovery turns a service's auto-recovery off and forgets it; its
// attempts stay in the history. Errors: NotFound.
func (s *Service) DeleteRecovery(ctx context.Context, accountID, serviceID string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*RecoveryConfig)(nil)).Where("service_id = ?", serviceID).Where("account_id = ?", accountID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: deleting recovery of %s: %w", serviceID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("this service has no auto-recovery")
		}
		// A check that no longer runs says no longer that it is down.
		if err := s.runHealthHooks(ctx, tx, HealthChange{AccountID: accountID, ServiceID: serviceID, State: StateUp}); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.recovery.delete", AccountID: accountID, TargetType: "service", TargetID: serviceID})
		return err
	})
}

// RecoveryAttempts lists a service's recovery attempts, newest first.
// Errors: NotFound for a service of another account.
func (s *Service) RecoveryAttempts(ctx context.Context, accountID, serviceID, before string, limit int) ([]*RecoveryAttempt, error) {
	if _, err := s.service(ctx, s.db.ReadConn(ctx), accountID, serviceID, ""); err != nil {
		return nil, err
	}
	var as []*RecoveryAttempt
	q := s.db.Conn(ctx).NewSelect().Model(&as).Where("service_id = ?", serviceID).Where("account_id = ?", accountID).OrderExpr("id DESC").Limit(int64(limit))
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("scheduler: listing recovery attempts: %w", err)
	}
	return as, nil
}

// The recovery tick: every tickEvery (a minute, or the check interval when
// shorter) the leader enqueues the checks whose slot falls before the next
// tick, each scheduled at its slot, and moves each service's next slot one
// interval on.

type recoveryTickArgs struct{}

// KindRecoveryTick is the kind of the periodic job that enqueues checks.
const KindRecoveryTick = "scheduler_recovery_tick"

func (recoveryTickArgs) Kind() string { return KindRecoveryTick }

func (s *Service) tickEvery() time.Duration { return min(time.Minute, s.opts.RecoveryInterval) }

type recoveryTickWorker struct {
	river.WorkerDefaults[recoveryTickArgs]
	s *Service
}

func (w *recoveryTickWorker) Timeout(*river.Job[recoveryTickArgs]) time.Duration {
	return w.s.opts.JobTimeout
}

func (w *recoveryTickWorker) Work(ctx context.Context, job *river.Job[recoveryTickArgs]) error {
	if err := w.s.recordTick(ctx, KindRecoveryTick, job.ScheduledAt.Truncate(w.s.tickEvery())); err != nil {
		return err
	}
	_, err := w.s.EnqueueChecks(ctx)
	return err
}

type checkArgs struct {
	ServiceID string    `json:"service_id"`
	Slot      time.Time `json:"slot"`
}

// KindRecoveryCheck is the kind of one health check.
const KindRecoveryCheck = "scheduler_recovery_check"

func (checkArgs) Kind() string { return KindRecoveryCheck }

// EnqueueChecks enqueues the checks due before the next tick and returns
// how many. A service whose slot passed more than an interval ago (the
// core was down) is checked once, at its next slot from now.
func (s *Service) EnqueueChecks(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.checkBatch(ctx, s.now())
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

func (s *Service) checkBatch(ctx context.Context, now time.Time) (n int, more bool, err error) {
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var rows []struct {
			ServiceID   string    `bun:"service_id"`
			NextCheckAt time.Time `bun:"next_check_at"`
		}
		q := "SELECT service_id, next_check_at FROM recovery_configs WHERE enabled = ? AND next_check_at < ? ORDER BY next_check_at LIMIT ?"
		if s.db.Dialect == database.Postgres {
			q += " FOR UPDATE SKIP LOCKED"
		}
		if err := tx.NewRaw(q, true, now.Add(s.tickEvery()), s.opts.BatchSize).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("scheduler: selecting due checks: %w", err)
		}
		more = len(rows) == s.opts.BatchSize
		params := make([]river.InsertManyParams, 0, len(rows))
		next := make(map[string]*time.Time, len(rows))
		for _, r := range rows {
			slot := r.NextCheckAt.UTC()
			if slot.Before(now.Add(-s.opts.RecoveryInterval)) {
				slot = s.slotAfter(r.ServiceID, now)
			}
			opts := &river.InsertOpts{MaxAttempts: 3}
			if slot.After(now) {
				opts.ScheduledAt = slot
			}
			params = append(params, river.InsertManyParams{Args: checkArgs{ServiceID: r.ServiceID, Slot: slot}, InsertOpts: opts})
			n := slot.Add(s.opts.RecoveryInterval)
			next[r.ServiceID] = &n
		}
		if err := s.jobs.InsertManyTx(ctx, tx, params); err != nil {
			return err
		}
		n = len(params)
		return s.bulkSetTime(ctx, tx, "recovery_configs", "service_id", "next_check_at", next)
	})
	return n, more, err
}

type checkWorker struct {
	river.WorkerDefaults[checkArgs]
	s *Service
}

func (w *checkWorker) Timeout(*river.Job[checkArgs]) time.Duration { return w.s.opts.JobTimeout }

func (w *checkWorker) Work(ctx context.Context, job *river.Job[checkArgs]) error {
	return w.s.check(ctx, job.Args.ServiceID, job.Args.Slot)
}

// check probes one service at its slot and, on failure, restarts it within
// the hourly maximum. Probes and the restart happen outside transactions.
func (s *Service) check(ctx context.Context, serviceID string, slot time.Time) error {
	c := &RecoveryConfig{}
	err := s.db.Read.NewSelect().Model(c).Where("service_id = ?", serviceID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("scheduler: loading recovery of %s: %w", serviceID, err)
	}
	svc, err := s.service(ctx, s.db.Read, c.AccountID, serviceID, "")
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil
		}
		return err
	}
	if !c.Enabled || svc.Status != "active" {
		return nil
	}
	p := s.prober()
	probeErr := p.check(ctx, c.CheckType, c.Target, c.Port)
	if probeErr != nil && ctx.Err() == nil {
		// One failed probe is not yet an outage: look again shortly.
		select {
		case <-ctx.Done():
		case <-time.After(s.opts.RecheckAfter):
			probeErr = p.check(ctx, c.CheckType, c.Target, c.Port)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	now := s.now()
	if probeErr == nil {
		if c.State == StateUp {
			_, err := s.db.NewUpdate().Model((*RecoveryConfig)(nil)).
				Set("state = ?", StateUp).Set("last_check_at = ?", now).Set("last_error = ''").
				Where("service_id = ?", serviceID).Exec(ctx)
			return err
		}
		// Up again after an outage (or after the settings were saved,
		// which forgets the state): the health hooks hear it with the
		// change.
		return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewUpdate().Model((*RecoveryConfig)(nil)).
				Set("state = ?", StateUp).Set("last_check_at = ?", now).Set("last_error = ''").
				Where("service_id = ?", serviceID).Exec(ctx); err != nil {
				return fmt.Errorf("scheduler: updating recovery of %s: %w", serviceID, err)
			}
			return s.runHealthHooks(ctx, tx, HealthChange{AccountID: c.AccountID, ServiceID: serviceID, State: StateUp})
		})
	}
	// The customer sees a generic reason; what was resolved and refused
	// (addresses of the core's network, say) stays in the log.
	msg := publicReason(probeErr)
	s.log.Info("auto-recovery check failed", "service_id", serviceID, "check_type", c.CheckType, "reason", msg, "error", probeErr)
	if c.State == StateGaveUp {
		_, err := s.db.NewUpdate().Model((*RecoveryConfig)(nil)).
			Set("last_check_at = ?", now).Set("last_error = ?", msg).Where("service_id = ?", serviceID).Exec(ctx)
		return err
	}
	var restart *RecoveryAttempt
	resumed := false
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		restarts, err := tx.NewSelect().Model((*RecoveryAttempt)(nil)).
			Where("service_id = ?", serviceID).Where("action = 'restart'").Where("created_at > ?", now.Add(-time.Hour)).Where("slot_at <> ?", slot).
			Count(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: counting restarts of %s: %w", serviceID, err)
		}
		a := &RecoveryAttempt{ID: newID(), ServiceID: serviceID, AccountID: c.AccountID, SlotAt: slot, CheckType: c.CheckType,
			CheckError: msg, Action: "restart", Status: RunRunning, CreatedAt: now}
		state := StateDown
		if restarts >= int64(c.MaxPerHour) {
			a.Action, a.Status, a.CompletedAt, state = "gave_up", RunSkipped, &now, StateGaveUp
			a.Error = fmt.Sprintf("%d restarts in the last hour: auto-recovery stops until a check passes or the settings are saved", restarts)
		}
		var ids []string
		if err := tx.NewInsert().Model(a).On("CONFLICT (service_id, slot_at) DO NOTHING").Returning("id").Scan(ctx, &ids); err != nil {
			return fmt.Errorf("scheduler: recording recovery attempt: %w", err)
		}
		if len(ids) == 0 {
			// An earlier execution of this check recorded the attempt; a
			// restart it did not finish is settled by its action's record
			// (see restart).
			prev := &RecoveryAttempt{}
			if err := tx.NewSelect().Model(prev).Where("service_id = ?", serviceID).Where("slot_at = ?", slot).Scan(ctx); err != nil {
				return fmt.Errorf("scheduler: loading recovery attempt: %w", err)
			}
			if prev.Action == "restart" && prev.Status == RunRunning {
				restart, resumed = prev, true
			}
			return nil
		}
		if _, err := tx.NewUpdate().Model((*RecoveryConfig)(nil)).
			Set("state = ?", state).Set("last_check_at = ?", now).Set("last_error = ?", msg).Where("service_id = ?", serviceID).Exec(ctx); err != nil {
			return fmt.Errorf("scheduler: updating recovery of %s: %w", serviceID, err)
		}
		if err := s.runHealthHooks(ctx, tx, HealthChange{AccountID: c.AccountID, ServiceID: serviceID, State: state,
			Reason: fmt.Sprintf("failed its %s health check (%s)", c.CheckType, msg)}); err != nil {
			return err
		}
		if a.Action == "gave_up" {
			return s.notify.Notify(ctx, tx, Notice{Type: NoticeRecoveryGaveUp, AccountID: c.AccountID, Link: "/services/" + serviceID,
				Data: map[string]any{"service_id": serviceID, "service_name": svc.Name, "check_type": c.CheckType, "error": msg,
					"restarts": restarts}})
		}
		restart = a
		if a.Action == "restart" {
			// The restart's action is recorded with the attempt, before the
			// call.
			_, err := s.intents.Begin(ctx, tx, []intent.Start{{Key: a.ID, Action: intent.PowerRestart, Plugin: svc.Plugin,
				ServiceID: serviceID, Subject: "recovery_attempt:" + a.ID}})
			return err
		}
		return nil
	})
	if err != nil || restart == nil {
		return err
	}
	return s.restart(ctx, c, svc, restart, resumed)
}

// restart power-cycles the service through its provisioner, with the
// attempt id as the idempotency key, and records the outcome with its
// action's. A resumed attempt (an earlier execution of the check recorded
// it) whose restart was started without an outcome — the replica that made
// it died, or its outcome was not written — is not made again: GetInfo
// settles it, or it is recorded failed, outcome unknown.
func (s *Service) restart(ctx context.Context, c *RecoveryConfig, svc *serviceRef, a *RecoveryAttempt, resumed bool) error {
	var in *intent.Intent
	if resumed {
		actions, err := s.intents.Load(ctx, []string{a.ID})
		if err != nil {
			return fmt.Errorf("scheduler: %w", err)
		}
		in = actions[a.ID]
	}
	callCtx, cancelCall := context.WithTimeout(ctx, s.opts.JobTimeout*9/10)
	defer cancelCall()
	prov, err := s.provisioner(svc.Plugin)
	var ref *pb.ServiceRef
	if err == nil {
		ref, err = s.describeOne(callCtx, svc.ID)
	}
	action := intent.Outcome{Key: a.ID}
	var callErr error
	switch {
	case err != nil:
		callErr, action.State, action.Detail = err, intent.NotDone, err.Error()
	case in != nil && in.State == intent.Started:
		verdict, detail, err := intent.Reconcile(callCtx, prov, ref, in)
		if err != nil {
			return err // the backend cannot be asked now: on the job's retry
		}
		action.State, action.Detail = intent.Succeeded, detail
		if verdict != intent.Done {
			action.State = intent.Unknown
			callErr = fmt.Errorf("outcome unknown, not repeated: %s", detail)
		}
	case in != nil && in.State != intent.NotDone:
		// Its outcome was recorded; the attempt's was not.
		action.State, action.Detail = in.State, in.Detail
		if in.State != intent.Succeeded {
			callErr = fmt.Errorf("%s", in.Detail)
		}
	default:
		if in != nil {
			if ok, err := s.intents.Repeat(ctx, s.db.DB, a.ID); err != nil || !ok {
				return fmt.Errorf("scheduler: starting restart %s again: %w", a.ID, err)
			}
		}
		_, callErr = prov.Power(callCtx, &pb.PowerRequest{Service: ref, IdempotencyKey: a.ID, Action: pb.PowerAction_POWER_ACTION_RESTART})
		action.State = intent.Classify(callErr)
		if callErr != nil {
			action.Detail = callErr.Error()
		}
		if action.State == intent.Started {
			// No answer: it may have acted; the job's retry settles it.
			return fmt.Errorf("scheduler: restart of %s ended without an answer: %w", svc.ID, callErr)
		}
	}
	status, msg := RunSucceeded, ""
	if callErr != nil {
		status, msg = RunFailed, bounded(callErr.Error(), maxErrorBytes)
	}
	return s.intents.RecordWithRetry(ctx, "recovery restart "+a.ID, func(ctx context.Context) error {
		return s.recordRestart(ctx, c, svc, a, action, status, msg, callErr)
	})
}

func (s *Service) recordRestart(ctx context.Context, c *RecoveryConfig, svc *serviceRef, a *RecoveryAttempt, action intent.Outcome, status, msg string, callErr error) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := s.intents.Finish(ctx, tx, []intent.Outcome{action}); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*RecoveryAttempt)(nil)).
			Set("status = ?", status).Set("error = ?", msg).Set("completed_at = ?", s.now()).
			Where("id = ?", a.ID).Where("status = ?", RunRunning).Exec(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: recording restart of %s: %w", svc.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 || !c.Notify {
			return nil
		}
		n := Notice{Type: NoticeRecoveryRestarted, AccountID: c.AccountID, Link: "/services/" + svc.ID,
			Data: map[string]any{"service_id": svc.ID, "service_name": svc.Name, "attempt_id": a.ID, "check_type": c.CheckType,
				"error": a.CheckError, "restart": status}}
		if callErr != nil {
			n.Data["restart_error"] = msg
		}
		return s.notify.Notify(ctx, tx, n)
	})
}

// HealthChange is a service's health as auto-recovery sees it: StateDown
// or StateGaveUp after a failed check (Reason says what failed), StateUp
// after a passing check that follows anything but a passing check, and
// when the check is turned off or deleted.
type HealthChange struct {
	AccountID string
	ServiceID string
	State     string
	Reason    string
}

// HealthHook reacts to a HealthChange inside the transaction that records
// it. It must be quick and must not call plugins; an error rolls the
// change back (the check's job retries).
type HealthHook func(ctx context.Context, tx bun.Tx, ch HealthChange) error

// OnHealth registers h for every failed check that records an attempt and
// for the changes to StateUp HealthChange lists. Register while wiring, before jobs start.
func (s *Service) OnHealth(h HealthHook) { s.onHealth = append(s.onHealth, h) }

// ReportHealth raises a health change another watcher saw (game-server
// monitoring: a listing showing a running server down) through the same
// hooks as auto-recovery's checks, in tx, so it alerts the same way.
func (s *Service) ReportHealth(ctx context.Context, tx bun.Tx, ch HealthChange) error {
	return s.runHealthHooks(ctx, tx, ch)
}

func (s *Service) runHealthHooks(ctx context.Context, tx bun.Tx, ch HealthChange) error {
	for _, h := range s.onHealth {
		if err := h(ctx, tx, ch); err != nil {
			return err
		}
	}
	return nil
}
