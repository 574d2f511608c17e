package budget

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/money"
)

// Options configure the service.
type Options struct {
	// SweepInterval is how often every budget is looked at (default 1h): a
	// budget is checked when its period has rolled over or its last check is
	// a day old.
	SweepInterval time.Duration
	// Now is the clock (nil = wall clock, UTC).
	Now func() time.Time
}

// Service is budget caps.
type Service struct {
	db          *database.DB
	notifier    Notifier
	jobs        *jobs.Inserter
	billing     Billing
	suspensions Suspensions
	topUps      TopUps
	now         func() time.Time
}

// New returns the service and registers its jobs (the check after each
// debit, the periodic sweep) with reg. Notices go through n (core/notify);
// with a nil n nobody is told. Services are suspended and lifted through
// the services' owner (core/services' status machine), never by budget's
// own SQL.
// topUps tells automatic top-ups (payments); nil: every top-up is the
// customer's.
func New(db *database.DB, n Notifier, bill Billing, suspensions Suspensions, topUps TopUps, reg *jobs.Registry, opts Options) *Service {
	s := &Service{db: db, notifier: n, jobs: reg.Inserter(), billing: bill, suspensions: suspensions, topUps: topUps, now: opts.Now}
	if s.now == nil {
		s.now = func() time.Time { return time.Now().UTC() }
	}
	interval := opts.SweepInterval
	if interval <= 0 {
		interval = time.Hour
	}
	jobs.Add(reg, &checkWorker{s: s})
	jobs.Add(reg, &sweepWorker{s: s})
	reg.Periodic("billing_budget_sweep", interval, func() river.JobArgs { return sweepArgs{} })
	return s
}

// Get returns the account's budget. Errors: NotFound when it has none.
func (s *Service) Get(ctx context.Context, accountID string) (*Budget, error) {
	b := &Budget{}
	err := s.db.Conn(ctx).NewSelect().Model(b).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("the account has no budget")
	}
	if err != nil {
		return nil, fmt.Errorf("budget: loading budget of %s: %w", accountID, err)
	}
	return b, nil
}

// Save creates or replaces the account's budget, compiling its rules, and
// queues a check so that the new settings take effect at once (a raised
// limit lifts the hard stop, a lowered one may apply it). Errors: Invalid,
// with the line and column of a bad rule.
func (s *Service) Save(ctx context.Context, accountID string, in Settings) (*Budget, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.now()
	out := &Budget{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		prev := &Budget{}
		err := tx.NewSelect().Model(prev).Where("account_id = ?", accountID).Scan(ctx)
		exists := err == nil
		if err != nil && !database.IsNoRows(err) {
			return fmt.Errorf("budget: loading budget of %s: %w", accountID, err)
		}
		cur := in.Currency
		if cur == "" {
			if cur, err = s.defaultCurrency(ctx, tx, accountID); err != nil {
				return err
			}
		}
		day := in.ResetDay
		if day == 0 {
			day = prev.ResetDay
		}
		if day == 0 {
			day = 1
		}
		*out = Budget{
			AccountID: accountID, Currency: cur, MonthlyLimit: in.MonthlyLimit, Thresholds: in.thresholds(),
			HardStop: in.HardStop, ResetDay: day, AlertRule: in.AlertRule, StopRule: in.StopRule,
			CreatedAt: now, UpdatedAt: now,
		}
		// An upsert, so that two first saves racing do not fail.
		_, err = tx.NewInsert().Model(out).On("CONFLICT (account_id) DO UPDATE").
			Set("currency = EXCLUDED.currency").Set("monthly_limit = EXCLUDED.monthly_limit").
			Set("thresholds = EXCLUDED.thresholds").Set("hard_stop = EXCLUDED.hard_stop").
			Set("reset_day = EXCLUDED.reset_day").Set("alert_rule = EXCLUDED.alert_rule").
			Set("stop_rule = EXCLUDED.stop_rule").Set("rule_error = ''").Set("updated_at = EXCLUDED.updated_at").
			Returning("created_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("budget: saving budget of %s: %w", accountID, err)
		}
		if err := s.enqueueCheck(ctx, tx, accountID, 0); err != nil {
			return err
		}
		action := "billing.budget.create"
		if exists {
			action = "billing.budget.update"
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: action, AccountID: accountID, TargetType: "budget", TargetID: accountID,
			Changes: map[string]any{
				"monthly_limit": out.MonthlyLimit, "currency": string(out.Currency), "thresholds": []int64(out.Thresholds),
				"hard_stop": out.HardStop, "reset_day": out.ResetDay, "alert_rule": out.AlertRule, "stop_rule": out.StopRule,
			}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// defaultCurrency is the account's credit currency, else its billing
// profile's. Errors: Invalid when it has neither (the caller must say).
func (s *Service) defaultCurrency(ctx context.Context, tx bun.Tx, accountID string) (money.Currency, error) {
	cur, err := s.billing.AccountCurrency(ctx, tx, accountID)
	if err != nil || cur != "" {
		return cur, err
	}
	return "", apperr.Field("currency", "is required: the account has no credit or billing profile to take it from")
}

// Delete removes the account's budget and lifts its budget suspensions.
// Errors: NotFound.
func (s *Service) Delete(ctx context.Context, accountID string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*Budget)(nil)).Where("account_id = ?", accountID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("budget: deleting budget of %s: %w", accountID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("the account has no budget")
		}
		ids, err := s.suspendedIDs(ctx, tx, accountID)
		if err != nil {
			return err
		}
		var lifted []string
		for _, id := range ids {
			ok, err := s.suspensions.UnsuspendTx(ctx, tx, id, Reason)
			if err != nil {
				return err
			}
			if ok {
				lifted = append(lifted, id)
			}
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "billing.budget.delete", AccountID: accountID, TargetType: "budget",
			TargetID: accountID, Changes: map[string]any{"lifted": lifted}})
		return err
	})
}

// SetExcluded excludes a service of the account from the hard stop, or
// includes it again, and queues a check (an excluded service is lifted, an
// included one may be suspended). Errors: NotFound (no such service in the
// account).
func (s *Service) SetExcluded(ctx context.Context, accountID, serviceID string, excluded bool) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		facts, err := s.billing.ServiceFacts(ctx, tx, []string{serviceID})
		if err != nil {
			return err
		}
		if f, ok := facts[serviceID]; !ok || f.AccountID != accountID {
			return apperr.NotFoundf("no such service")
		}
		var res interface{ RowsAffected() (int64, error) }
		if excluded {
			res, err = tx.NewInsert().Model(&exclusion{ServiceID: serviceID, AccountID: accountID, CreatedAt: s.now()}).
				On("CONFLICT (service_id) DO NOTHING").Exec(ctx)
		} else {
			res, err = tx.NewDelete().Model((*exclusion)(nil)).Where("service_id = ?", serviceID).Exec(ctx)
		}
		if err != nil {
			return fmt.Errorf("budget: setting the exclusion of %s: %w", serviceID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // already so
		}
		if err := s.enqueueCheck(ctx, tx, accountID, 0); err != nil {
			return err
		}
		action := "billing.budget.exclude"
		if !excluded {
			action = "billing.budget.include"
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: action, AccountID: accountID, TargetType: "service", TargetID: serviceID})
		return err
	})
}

// Status is a budget with its current period.
type Status struct {
	Budget    *Budget      `json:"budget"`
	Period    PeriodStatus `json:"period"`
	Alerts    []Alert      `json:"alerts"`
	Excluded  []string     `json:"excluded_service_ids"`
	Suspended []string     `json:"suspended_service_ids"`
}

// PeriodStatus is the current period as of its last check (spend 0 before
// the first check of the period).
type PeriodStatus struct {
	Start           time.Time  `json:"start"`
	End             time.Time  `json:"end"`
	Spend           int64      `json:"spend"`
	SpendPercent    int64      `json:"spend_percent"`
	CheckedAt       *time.Time `json:"checked_at,omitempty"`
	StoppedAt       *time.Time `json:"stopped_at,omitempty"`
	OverriddenAt    *time.Time `json:"overridden_at,omitempty"`
	OverrideEntryID string     `json:"override_entry_id,omitempty"`
	OverrideAmount  int64      `json:"override_amount,omitempty"`
}

// Status returns the account's budget and its current period. Errors:
// NotFound.
func (s *Service) Status(ctx context.Context, accountID string) (*Status, error) {
	b, err := s.Get(ctx, accountID)
	if err != nil {
		return nil, err
	}
	start, end := periodOf(s.now(), b.ResetDay)
	st := &Status{Budget: b, Period: PeriodStatus{Start: start, End: end}, Alerts: []Alert{}, Excluded: []string{}}
	conn := s.db.Conn(ctx)
	p := &Period{}
	err = conn.NewSelect().Model(p).Where("account_id = ?", accountID).Where("period_start = ?", start).Scan(ctx)
	switch {
	case err == nil:
		st.Period.Spend, st.Period.StoppedAt, st.Period.OverriddenAt = p.Spend, p.StoppedAt, p.OverriddenAt
		st.Period.OverrideEntryID, st.Period.OverrideAmount = p.OverrideEntryID, p.OverrideAmount
		if p.CheckedSeq > 0 || !p.CheckedAt.IsZero() {
			st.Period.CheckedAt = &p.CheckedAt
		}
	case !database.IsNoRows(err):
		return nil, fmt.Errorf("budget: loading period of %s: %w", accountID, err)
	}
	st.Period.SpendPercent = percent(st.Period.Spend, b.MonthlyLimit)
	if err := conn.NewSelect().Model(&st.Alerts).Where("account_id = ?", accountID).Where("period_start = ?", start).
		Order("created_at ASC", "key ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("budget: loading alerts of %s: %w", accountID, err)
	}
	if err := conn.NewSelect().Model((*exclusion)(nil)).Column("service_id").Where("account_id = ?", accountID).
		Order("service_id").Scan(ctx, &st.Excluded); err != nil {
		return nil, fmt.Errorf("budget: loading exclusions of %s: %w", accountID, err)
	}
	if st.Suspended, err = s.suspendedIDs(ctx, conn, accountID); err != nil {
		return nil, err
	}
	return st, nil
}

// suspendedIDs lists the account's services with a budget suspension in
// force.
func (s *Service) suspendedIDs(ctx context.Context, db bun.IDB, accountID string) ([]string, error) {
	return s.suspensions.SuspendedFor(ctx, db, accountID, Reason)
}
