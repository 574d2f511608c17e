package scheduler

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// Scheduled plan change kinds.
const (
	ChangeUpgrade   = "upgrade"
	ChangeDowngrade = "downgrade"
	ChangeAddon     = "addon"
)

// Scheduled plan change statuses.
const (
	ChangePending   = "pending"
	ChangeRunning   = "running"
	ChangeApplied   = "applied"
	ChangeFailed    = "failed"
	ChangeCancelled = "cancelled"
)

// Bounds of a scheduled change's date.
const (
	minChangeLead = 5 * time.Minute
	maxChangeLead = 366 * 24 * time.Hour
	reminderLead  = 24 * time.Hour
)

// PlanChangeOutcome is what billing did.
type PlanChangeOutcome struct {
	ChangeID  string `json:"change_id,omitempty"`
	InvoiceID string `json:"invoice_id,omitempty"`
	// Prorated is the amount charged (upgrade) or credited (downgrade), in
	// minor units of Currency.
	Prorated int64  `json:"prorated"`
	Currency string `json:"currency,omitempty"`
}

// PlanChanger applies a plan change now, with billing's proration. It is
// called inside the scheduler's transaction (ctx carries it, as
// database.DB.Tx does) and must join it, so that the scheduled change is
// marked applied if and only if billing's change commits. It must not call
// plugins inside that transaction. Errors are apperr codes: Invalid,
// Conflict, Unprocessable are the customer's to fix; others are retried.
//
// CheckPlanChange runs when a change is scheduled, also inside the
// scheduler's transaction: it applies billing's rules for the service's new
// plan (toPlan is an id or a slug; a service's provisioner plugin and
// service type never change, the plan must be orderable in the service's
// currency) without changing anything, and returns the plan's id. Its
// refusals name the field to_plan_id. ChangePlan applies the same rules
// again when the change is due.
type PlanChanger interface {
	CheckPlanChange(ctx context.Context, accountID, serviceID, toPlan string) (planID string, err error)
	ChangePlan(ctx context.Context, accountID, serviceID, toPlanID string) (*PlanChangeOutcome, error)
}

// AddonAdder is the optional part of a PlanChanger that adds add-ons.
type AddonAdder interface {
	AddAddon(ctx context.Context, accountID, serviceID, addonID string, quantity int) (*PlanChangeOutcome, error)
}

// PlanChange is a plan change scheduled for a date and time.
type PlanChange struct {
	bun.BaseModel `bun:"table:scheduled_plan_changes"`

	ID             string     `bun:"id,pk" json:"id"`
	AccountID      string     `bun:"account_id" json:"account_id"`
	ServiceID      string     `bun:"service_id" json:"service_id"`
	Kind           string     `bun:"kind" json:"kind"`
	ToPlanID       *string    `bun:"to_plan_id" json:"to_plan_id"`
	AddonID        *string    `bun:"addon_id" json:"addon_id"`
	AddonQuantity  int        `bun:"addon_quantity" json:"addon_quantity"`
	RunAt          time.Time  `bun:"run_at" json:"run_at"`
	Status         string     `bun:"status" json:"status"`
	ReminderSentAt *time.Time `bun:"reminder_sent_at" json:"reminder_sent_at"`
	CancelReason   string     `bun:"cancel_reason" json:"cancel_reason"`
	CancelledAt    *time.Time `bun:"cancelled_at" json:"cancelled_at"`
	Result         string     `bun:"result" json:"-"`
	Error          string     `bun:"error" json:"error"`
	Attempts       int        `bun:"attempts" json:"-"`
	AppliedAt      *time.Time `bun:"applied_at" json:"applied_at"`
	CreatedAt      time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at" json:"updated_at"`

	// Outcome is Result decoded.
	Outcome *PlanChangeOutcome `bun:"-" json:"outcome"`
}

func (c *PlanChange) fill() {
	if c.Result != "" && c.Result != "{}" {
		o := &PlanChangeOutcome{}
		if json.Unmarshal([]byte(c.Result), o) == nil {
			c.Outcome = o
		}
	}
}

// PlanChangeInput schedules a change.
type PlanChangeInput struct {
	ServiceID string    `json:"service_id"`
	Kind      string    `json:"kind"`
	ToPlanID  string    `json:"to_plan_id"`
	AddonID   string    `json:"addon_id"`
	Quantity  int       `json:"quantity"`
	RunAt     time.Time `json:"run_at"`
}

func (s *Service) changer() PlanChanger {
	if c := s.planChanger.Load(); c != nil {
		return *c
	}
	return nil
}

// SchedulePlanChange schedules a change of the service's plan, or an
// add-on, for in.RunAt, with a reminder 24 h before. The plan and the
// add-on are named by id or slug (stored by id); billing's rules for the
// new plan are checked now (PlanChanger.CheckPlanChange) and again when the
// change is applied. Errors: Invalid naming the field, NotFound, Conflict
// (service not active; reason change_pending when the service already has
// a pending change), Unprocessable naming to_plan_id (billing refuses the
// plan: another provisioner or service type, archived, another currency),
// Unavailable when billing cannot apply plan changes.
func (s *Service) SchedulePlanChange(ctx context.Context, accountID string, in PlanChangeInput) (*PlanChange, error) {
	now := s.now()
	var errs apperr.Fields
	switch in.Kind {
	case ChangeUpgrade, ChangeDowngrade:
		if in.ToPlanID == "" {
			errs.Add("to_plan_id", "is required for an %s", in.Kind)
		}
		if in.AddonID != "" || in.Quantity != 0 {
			errs.Add("addon_id", "is only for an addon change")
		}
	case ChangeAddon:
		if in.AddonID == "" {
			errs.Add("addon_id", "is required for an addon change")
		}
		if in.ToPlanID != "" {
			errs.Add("to_plan_id", "is only for an upgrade or downgrade")
		}
		if in.Quantity == 0 {
			in.Quantity = 1
		}
		if in.Quantity < 1 || in.Quantity > 1000 {
			errs.Add("quantity", "must be from 1 to 1000")
		}
	default:
		errs.Add("kind", "must be upgrade, downgrade or addon")
	}
	if in.ServiceID == "" {
		errs.Add("service_id", "is required")
	}
	switch {
	case in.RunAt.IsZero():
		errs.Add("run_at", "is required (RFC 3339 date and time)")
	case in.RunAt.Before(now.Add(minChangeLead)):
		errs.Add("run_at", "must be at least %s from now", minChangeLead)
	case in.RunAt.After(now.Add(maxChangeLead)):
		errs.Add("run_at", "must be within a year")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	changer := s.changer()
	if _, adds := changer.(AddonAdder); changer == nil || (in.Kind == ChangeAddon && !adds) {
		return nil, apperr.New(apperr.Unavailable, "scheduled %s changes are not available yet", in.Kind).WithReason("plan_changes_unavailable")
	}
	c := &PlanChange{ID: newID(), AccountID: accountID, ServiceID: in.ServiceID, Kind: in.Kind, AddonQuantity: in.Quantity,
		RunAt: in.RunAt.UTC().Truncate(time.Second), Status: ChangePending, Result: "{}", CreatedAt: now, UpdatedAt: now}
	if in.Kind == ChangeAddon {
		c.AddonID = &in.AddonID
	} else {
		c.ToPlanID = &in.ToPlanID
		c.AddonQuantity = 0
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		svc, err := s.service(ctx, tx, accountID, in.ServiceID, "service_id")
		if err != nil {
			return err
		}
		if svc.Status != "active" {
			return apperr.New(apperr.Conflict, "only an active service can have a plan change scheduled").WithReason("service_" + svc.Status)
		}
		// The ids it resolves reach c, which points into in.
		if err := s.checkChangeTarget(ctx, changer, svc, &in); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(c).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return apperr.New(apperr.Conflict, "this service already has a pending plan change; cancel it first").WithReason("change_pending")
			}
			return fmt.Errorf("scheduler: storing plan change: %w", err)
		}
		jobs := []river.InsertManyParams{{Args: applyChangeArgs{ChangeID: c.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: c.RunAt, MaxAttempts: 10}}}
		if remind := c.RunAt.Add(-reminderLead); remind.After(now) {
			jobs = append(jobs, river.InsertManyParams{Args: remindChangeArgs{ChangeID: c.ID}, InsertOpts: &river.InsertOpts{ScheduledAt: remind, MaxAttempts: 10}})
		}
		if err := s.jobs.InsertManyTx(ctx, tx, jobs); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.plan_change.schedule", AccountID: accountID, TargetType: "service", TargetID: in.ServiceID,
			Changes: map[string]any{"change_id": c.ID, "kind": c.Kind, "to_plan_id": in.ToPlanID, "addon_id": in.AddonID, "quantity": c.AddonQuantity, "run_at": c.RunAt}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// checkChangeTarget checks the plan or add-on (each named by id or slug)
// against the service's plan, and replaces the name in in by the id.
func (s *Service) checkChangeTarget(ctx context.Context, changer PlanChanger, svc *serviceRef, in *PlanChangeInput) error {
	from, err := s.catalog.Plan(ctx, svc.PlanID)
	if err != nil {
		return fmt.Errorf("scheduler: loading plan %s: %w", svc.PlanID, err)
	}
	if in.Kind == ChangeAddon {
		addon, err := s.catalog.Addon(ctx, in.AddonID)
		if apperr.CodeOf(err) == apperr.NotFound || (err == nil && !addon.Active) {
			return apperr.Field("addon_id", "no such add-on")
		}
		if err != nil {
			return fmt.Errorf("scheduler: loading add-on: %w", err)
		}
		var plans []string
		_ = json.Unmarshal([]byte(addon.PlanIDs), &plans)
		if len(plans) > 0 && !slices.Contains(plans, svc.PlanID) {
			return apperr.Field("addon_id", "is not offered with this service's plan")
		}
		if in.Quantity > addon.MaxQuantity {
			return apperr.Field("quantity", "must be at most %d for this add-on", addon.MaxQuantity)
		}
		in.AddonID = addon.ID
		return nil
	}
	// Billing decides whether the service may have that plan at all (its
	// provisioner and service type never change); the plan is named by id
	// or slug and stored by id.
	toID, err := changer.CheckPlanChange(ctx, svc.AccountID, svc.ID, in.ToPlanID)
	if err != nil {
		return err
	}
	in.ToPlanID = toID
	to, err := s.catalog.Plan(ctx, toID)
	if apperr.CodeOf(err) == apperr.NotFound || (err == nil && !to.Active) {
		return apperr.Field("to_plan_id", "no such plan")
	}
	if err != nil {
		return fmt.Errorf("scheduler: loading plan %s: %w", toID, err)
	}
	switch {
	case to.ID == from.ID:
		return apperr.Field("to_plan_id", "is the service's current plan")
	case to.Currency == from.Currency && in.Kind == ChangeUpgrade && to.MonthlyPrice < from.MonthlyPrice:
		return apperr.Field("kind", "this plan costs less than the current one: schedule a downgrade")
	case to.Currency == from.Currency && in.Kind == ChangeDowngrade && to.MonthlyPrice > from.MonthlyPrice:
		return apperr.Field("kind", "this plan costs more than the current one: schedule an upgrade")
	}
	return nil
}

// PlanChanges lists the account's scheduled plan changes, newest first.
func (s *Service) PlanChanges(ctx context.Context, accountID, serviceID, before string, limit int) ([]*PlanChange, error) {
	var cs []*PlanChange
	q := s.db.Conn(ctx).NewSelect().Model(&cs).Where("account_id = ?", accountID).OrderExpr("id DESC").Limit(int64(limit))
	if serviceID != "" {
		q = q.Where("service_id = ?", serviceID)
	}
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("scheduler: listing plan changes: %w", err)
	}
	for _, c := range cs {
		c.fill()
	}
	return cs, nil
}

// PlanChange returns one scheduled change. Errors: NotFound.
func (s *Service) PlanChange(ctx context.Context, accountID, id string) (*PlanChange, error) {
	c := &PlanChange{}
	err := s.db.Conn(ctx).NewSelect().Model(c).Where("id = ?", id).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such plan change")
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: loading plan change %s: %w", id, err)
	}
	c.fill()
	return c, nil
}

// CancelPlanChange cancels a change that has not run yet. Errors: NotFound,
// Invalid (reason), Conflict when it already ran, runs or was cancelled.
func (s *Service) CancelPlanChange(ctx context.Context, accountID, id, reason string) (*PlanChange, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, apperr.Field("reason", "is required (at most 500 characters)")
	}
	c := &PlanChange{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		err := tx.NewUpdate().Model(c).Set("status = ?", ChangeCancelled).Set("cancel_reason = ?", reason).
			Set("cancelled_at = ?", now).Set("updated_at = ?", now).
			Where("id = ?", id).Where("account_id = ?", accountID).Where("status = ?", ChangePending).Returning("*").Scan(ctx)
		if database.IsNoRows(err) {
			cur, err := s.PlanChange(ctx, accountID, id)
			if err != nil {
				return err
			}
			return apperr.New(apperr.Conflict, "the change is %s and can no longer be cancelled", cur.Status).WithReason("change_" + cur.Status)
		}
		if err != nil {
			return fmt.Errorf("scheduler: cancelling plan change %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.plan_change.cancel", AccountID: accountID, TargetType: "service", TargetID: c.ServiceID,
			Changes: map[string]any{"change_id": id, "reason": reason}})
		return err
	})
	if err != nil {
		return nil, err
	}
	c.fill()
	return c, nil
}

type remindChangeArgs struct {
	ChangeID string `json:"change_id"`
}

// KindPlanChangeReminder is the kind of the reminder job.
const KindPlanChangeReminder = "scheduler_plan_change_reminder"

func (remindChangeArgs) Kind() string { return KindPlanChangeReminder }

type remindChangeWorker struct {
	river.WorkerDefaults[remindChangeArgs]
	s *Service
}

func (w *remindChangeWorker) Timeout(*river.Job[remindChangeArgs]) time.Duration {
	return w.s.opts.JobTimeout
}

// Work sends the reminder once: the flag and the notice commit together.
func (w *remindChangeWorker) Work(ctx context.Context, job *river.Job[remindChangeArgs]) error {
	return w.s.remindChange(ctx, job.Args.ChangeID)
}

func (s *Service) remindChange(ctx context.Context, id string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c := &PlanChange{}
		err := tx.NewUpdate().Model(c).Set("reminder_sent_at = ?", s.now()).
			Where("id = ?", id).Where("status = ?", ChangePending).Where("reminder_sent_at IS NULL").Returning("*").Scan(ctx)
		if database.IsNoRows(err) {
			return nil // cancelled, or already reminded
		}
		if err != nil {
			return fmt.Errorf("scheduler: reminding of plan change %s: %w", id, err)
		}
		return s.changeNotice(ctx, tx, NoticePlanChangeReminder, c, "")
	})
}

// changeNotice tells the account about a plan change, naming the service,
// plan and add-on as the customer knows them.
func (s *Service) changeNotice(ctx context.Context, tx bun.Tx, typ string, c *PlanChange, errMsg string) error {
	var names struct{ Plan, Addon string }
	if c.ToPlanID != nil {
		p, err := s.catalog.Plan(ctx, *c.ToPlanID)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return fmt.Errorf("scheduler: naming plan change %s: %w", c.ID, err)
		}
		if p != nil {
			names.Plan = p.Name
		}
	}
	if c.AddonID != nil {
		a, err := s.catalog.Addon(ctx, *c.AddonID)
		if err != nil && apperr.CodeOf(err) != apperr.NotFound {
			return fmt.Errorf("scheduler: naming plan change %s: %w", c.ID, err)
		}
		if a != nil {
			names.Addon = a.Name
		}
	}
	svc, err := s.service(ctx, tx, c.AccountID, c.ServiceID, "")
	if err != nil {
		return fmt.Errorf("scheduler: naming plan change %s: %w", c.ID, err)
	}
	plan, addon := cmp.Or(names.Plan, deref(c.ToPlanID)), cmp.Or(names.Addon, deref(c.AddonID))
	change := fmt.Sprintf("%s to plan %s", c.Kind, plan)
	if c.Kind == ChangeAddon {
		change = fmt.Sprintf("add-on %s (×%d)", addon, c.AddonQuantity)
	}
	data := map[string]any{"change_id": c.ID, "service_id": c.ServiceID, "service_name": svc.Name, "kind": c.Kind,
		"change": change, "to_plan_id": deref(c.ToPlanID), "addon_id": deref(c.AddonID), "run_at": c.RunAt.Format(time.RFC3339)}
	if errMsg != "" {
		data["error"] = errMsg
	}
	return s.notify.Notify(ctx, tx, Notice{Type: typ, AccountID: c.AccountID, Data: data, Link: "/services/" + c.ServiceID})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type applyChangeArgs struct {
	ChangeID string `json:"change_id"`
}

// KindPlanChangeApply is the kind of the job that applies a change.
const KindPlanChangeApply = "scheduler_plan_change_apply"

func (applyChangeArgs) Kind() string { return KindPlanChangeApply }

type applyChangeWorker struct {
	river.WorkerDefaults[applyChangeArgs]
	s *Service
}

func (w *applyChangeWorker) Timeout(*river.Job[applyChangeArgs]) time.Duration {
	return w.s.opts.JobTimeout
}

func (w *applyChangeWorker) Work(ctx context.Context, job *river.Job[applyChangeArgs]) error {
	return w.s.applyChange(ctx, job.Args.ChangeID, job.Attempt >= job.MaxAttempts)
}

// applyChange applies a due change through billing in one transaction:
// the change is marked applied exactly when billing's change commits. A
// refusal by billing (Invalid, Conflict, Unprocessable, NotFound) fails it
// and tells the customer; other errors are retried.
func (s *Service) applyChange(ctx context.Context, id string, lastTry bool) error {
	changer := s.changer()
	var applied *PlanChange
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c := &PlanChange{}
		now := s.now()
		err := tx.NewUpdate().Model(c).Set("status = ?", ChangeApplied).Set("applied_at = ?", now).Set("updated_at = ?", now).
			Set("attempts = attempts + 1").
			Where("id = ?", id).Where("status = ?", ChangePending).Returning("*").Scan(ctx)
		if database.IsNoRows(err) {
			return nil // cancelled, or applied by an earlier execution
		}
		if err != nil {
			return fmt.Errorf("scheduler: claiming plan change %s: %w", id, err)
		}
		if changer == nil {
			return apperr.New(apperr.Unavailable, "billing cannot apply plan changes yet")
		}
		var out *PlanChangeOutcome
		if c.Kind == ChangeAddon {
			adder, ok := changer.(AddonAdder)
			if !ok {
				return apperr.New(apperr.Unavailable, "billing cannot add add-ons yet")
			}
			out, err = adder.AddAddon(ctx, c.AccountID, c.ServiceID, deref(c.AddonID), c.AddonQuantity)
		} else {
			out, err = changer.ChangePlan(ctx, c.AccountID, c.ServiceID, deref(c.ToPlanID))
		}
		if err != nil {
			return err
		}
		b, _ := json.Marshal(out)
		if _, err := tx.NewUpdate().Model((*PlanChange)(nil)).Set("result = ?", string(b)).Where("id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("scheduler: recording plan change %s: %w", id, err)
		}
		c.Result = string(b)
		applied = c
		if err := s.changeNotice(ctx, tx, NoticePlanChangeApplied, c, ""); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.plan_change.apply", AccountID: c.AccountID, TargetType: "service", TargetID: c.ServiceID,
			Changes: map[string]any{"change_id": id, "kind": c.Kind, "result": string(b)}})
		return err
	})
	if err == nil || applied != nil {
		return err
	}
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.Conflict, apperr.Unprocessable, apperr.NotFound, apperr.PaymentRequired:
		return s.failChange(ctx, id, err)
	}
	if lastTry {
		return s.failChange(ctx, id, err)
	}
	return fmt.Errorf("scheduler: applying plan change %s: %w", id, err)
}

// failChange records a change billing refused, and tells the customer.
func (s *Service) failChange(ctx context.Context, id string, cause error) error {
	msg := "internal error"
	if e, ok := apperr.As(cause); ok {
		msg = e.Message
		for _, f := range e.Fields {
			msg += "; " + f.Field + ": " + f.Message
		}
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		c := &PlanChange{}
		now := s.now()
		err := tx.NewUpdate().Model(c).Set("status = ?", ChangeFailed).Set("error = ?", bounded(msg, maxErrorBytes)).Set("updated_at = ?", now).
			Set("attempts = attempts + 1").
			Where("id = ?", id).Where("status = ?", ChangePending).Returning("*").Scan(ctx)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("scheduler: recording failed plan change %s: %w", id, err)
		}
		return s.changeNotice(ctx, tx, NoticePlanChangeFailed, c, msg)
	})
}
