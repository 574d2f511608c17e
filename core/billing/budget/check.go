package budget

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/policy"
)

// spendKinds are the ledger entries that count as spend (their negated
// amounts): invoice payments and charges out, invoice credits back in.
var spendKinds = []ledger.Kind{ledger.KindInvoicePayment, ledger.KindCharge, ledger.KindInvoiceCredit}

// Result is what one check saw and did.
type Result struct {
	Spend        int64
	SpendPercent int64
	// Alerts are the keys of the alerts this check sent.
	Alerts []string
	// Suspended and Lifted are the services this check suspended and
	// lifted.
	Suspended []string
	Lifted    []string
	// Skipped is set when a check for a later ledger entry already ran.
	Skipped bool
}

// candidate is a service the hard stop may decide.
type candidate struct {
	ID     string
	Status string
	Label  string
	Cycle  string
	Price  int64
	Type   string
	Plan   string
	// Excluded from the hard stop by the account (budget_exclusions).
	Excluded bool
	// BudgetHeld: a budget suspension is in force.
	BudgetHeld bool
	// Name is what notices name it by (notify.ServiceName).
	Name string
}

// Check brings the account's budget up to date (see the package
// documentation): spend, alerts, the hard stop. minSeq > 0 skips the check
// when one covering that ledger entry already ran. An account without a
// budget is a no-op.
func (s *Service) Check(ctx context.Context, accountID string, minSeq int64) (*Result, error) {
	res := &Result{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		*res = Result{}
		b := &Budget{}
		// The no-op UPDATE holds the budget row, so checks of one account
		// run one at a time across replicas (SQLite's writer is already
		// exclusive).
		err := tx.NewUpdate().Model(b).Set("account_id = account_id").Where("account_id = ?", accountID).
			Returning("*").Scan(ctx)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("budget: locking budget of %s: %w", accountID, err)
		}
		return s.check(ctx, tx, b, minSeq, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func (s *Service) check(ctx context.Context, tx bun.Tx, b *Budget, minSeq int64, res *Result) error {
	now := s.now()
	start, end := periodOf(now, b.ResetDay)
	p := &Period{}
	err := tx.NewSelect().Model(p).Where("account_id = ?", b.AccountID).Where("period_start = ?", start).Scan(ctx)
	fresh := database.IsNoRows(err)
	if err != nil && !fresh {
		return fmt.Errorf("budget: loading period of %s: %w", b.AccountID, err)
	}
	if !fresh && minSeq > 0 && p.CheckedSeq >= minSeq {
		res.Skipped = true
		return nil
	}
	seq, err := s.billing.Ledger().Position(ctx, tx, b.AccountID)
	if err != nil {
		return err
	}
	spend, err := s.spendOf(ctx, tx, b, start, end)
	if err != nil {
		return err
	}
	pct := percent(spend, b.MonthlyLimit)
	res.Spend, res.SpendPercent = spend, pct

	*p = Period{AccountID: b.AccountID, PeriodStart: start, PeriodEnd: end, Spend: spend, CheckedSeq: seq, CheckedAt: now,
		StoppedAt: p.StoppedAt, OverriddenAt: p.OverriddenAt, OverrideEntryID: p.OverrideEntryID, OverrideAmount: p.OverrideAmount}

	if err := s.thresholdAlerts(ctx, tx, b, p, pct, res); err != nil {
		return err
	}

	services, err := s.candidates(ctx, tx, b.AccountID)
	if err != nil {
		return err
	}
	env, ruleErrs := envOf(b, spend, start, end, now, services)

	if b.AlertRule != "" && len(ruleErrs) == 0 {
		fire, err := evalSource(b.AlertRule, env)
		if err != nil {
			ruleErrs = append(ruleErrs, "alert_rule: "+err.Error())
		}
		if fire {
			data := alertData(b, p, pct)
			// The rule's notice is about the rule: the limit has its own.
			data["rule"], data["limit_reached"] = b.AlertRule, false
			sent, err := s.alert(ctx, tx, b, p, AlertRule, pct, notify.Event{Type: notify.BudgetAlert, AccountID: b.AccountID, Data: data})
			if err != nil {
				return err
			}
			if sent {
				res.Alerts = append(res.Alerts, AlertRule)
			}
		}
	}

	if err := s.hardStop(ctx, tx, b, p, env, services, len(ruleErrs) > 0, &ruleErrs, res); err != nil {
		return err
	}

	if _, err := tx.NewInsert().Model(p).On("CONFLICT (account_id, period_start) DO UPDATE").
		Set("spend = EXCLUDED.spend").Set("checked_seq = EXCLUDED.checked_seq").Set("checked_at = EXCLUDED.checked_at").
		Set("stopped_at = EXCLUDED.stopped_at").Exec(ctx); err != nil {
		return fmt.Errorf("budget: saving period of %s: %w", b.AccountID, err)
	}
	ruleError := strings.Join(ruleErrs, "; ")
	if ruleError != b.RuleError {
		if _, err := tx.NewUpdate().Model(b).Set("rule_error = ?", clip(ruleError, 1000)).WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("budget: recording rule error of %s: %w", b.AccountID, err)
		}
	}
	if len(res.Suspended) == 0 && len(res.Lifted) == 0 {
		return nil
	}
	_, err = audit.Append(ctx, tx, audit.Event{Action: "billing.budget.enforce", AccountID: b.AccountID, TargetType: "budget",
		TargetID: b.AccountID, Changes: map[string]any{"spend": spend, "spend_percent": pct, "suspended": res.Suspended, "lifted": res.Lifted}})
	return err
}

// thresholdAlerts records every threshold the spend has reached (and the
// limit), and sends one notice naming the highest of those new this period.
func (s *Service) thresholdAlerts(ctx context.Context, tx bun.Tx, b *Budget, p *Period, pct int64, res *Result) error {
	var newest string
	for _, t := range b.Thresholds {
		if pct < t {
			continue
		}
		key := strconv.FormatInt(t, 10)
		ok, err := s.record(ctx, tx, b, p, key, pct)
		if err != nil {
			return err
		}
		if ok {
			res.Alerts = append(res.Alerts, key)
			newest = key
		}
	}
	if pct >= 100 {
		ok, err := s.record(ctx, tx, b, p, AlertLimit, pct)
		if err != nil {
			return err
		}
		if ok {
			res.Alerts = append(res.Alerts, AlertLimit)
			newest = AlertLimit
		}
	}
	if newest == "" {
		return nil
	}
	// One notice names the highest new threshold: the limit, or the spend
	// (the template words it from the percent).
	data := alertData(b, p, pct)
	data["limit_reached"] = newest == AlertLimit
	return s.notify(ctx, tx, notify.Event{Type: notify.BudgetAlert, AccountID: b.AccountID, Data: data})
}

// record inserts the alert key for the period, reporting whether it is new.
func (s *Service) record(ctx context.Context, tx bun.Tx, b *Budget, p *Period, key string, pct int64) (bool, error) {
	r, err := tx.NewInsert().Model(&Alert{AccountID: b.AccountID, PeriodStart: p.PeriodStart, Key: key, Spend: p.Spend, Percent: pct, CreatedAt: s.now()}).
		On("CONFLICT (account_id, period_start, key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("budget: recording %s alert of %s: %w", key, b.AccountID, err)
	}
	n, _ := r.RowsAffected()
	return n > 0, nil
}

// alert records key once per period and, the first time, sends ev.
func (s *Service) alert(ctx context.Context, tx bun.Tx, b *Budget, p *Period, key string, pct int64, ev notify.Event) (bool, error) {
	ok, err := s.record(ctx, tx, b, p, key, pct)
	if err != nil || !ok {
		return false, err
	}
	return true, s.notify(ctx, tx, ev)
}

// hardStop suspends the services the stop rule selects and lifts the
// budget suspensions of the others. Without the hard stop, or once it is
// overridden this period, every budget suspension is lifted.
func (s *Service) hardStop(ctx context.Context, tx bun.Tx, b *Budget, p *Period, env Env, services []candidate, noRules bool, ruleErrs *[]string, res *Result) error {
	active := b.HardStop && p.OverriddenAt == nil
	src := b.StopRule
	if src == "" || noRules {
		src = DefaultStopRule
	}
	var prog *policy.Program[Env, bool]
	if active {
		var err error
		if prog, err = compileRule(src); err != nil {
			*ruleErrs = append(*ruleErrs, "stop_rule: "+err.Error())
			if prog, err = compileRule(DefaultStopRule); err != nil {
				return err
			}
		}
	}
	var suspended, lifted []candidate
	for _, c := range services {
		want := false
		if active && !c.Excluded {
			e := env
			e.ServiceID, e.ServiceType, e.ServicePlan, e.ServiceLabel, e.ServiceCycle, e.ServicePrice =
				c.ID, c.Type, c.Plan, clip(c.Label, maxLabel), c.Cycle, c.Price
			var err error
			if want, err = prog.Eval(e); err != nil {
				// A rule failing on this data must not leave the
				// budget unenforced: the default decides.
				*ruleErrs = append(*ruleErrs, "stop_rule: "+err.Error())
				want = env.SpendPercent >= 100
			}
		}
		switch {
		case want && !c.BudgetHeld:
			ok, err := s.suspensions.SuspendTx(ctx, tx, c.ID, Reason, fmt.Sprintf("budget cap: %d %% of %s", env.SpendPercent, money.New(b.MonthlyLimit, b.Currency)))
			if err != nil {
				return err
			}
			if ok {
				suspended = append(suspended, c)
			}
		case !want && c.BudgetHeld:
			ok, err := s.suspensions.UnsuspendTx(ctx, tx, c.ID, Reason)
			if err != nil {
				return err
			}
			if ok {
				lifted = append(lifted, c)
			}
		}
	}
	for _, c := range suspended {
		res.Suspended = append(res.Suspended, c.ID)
	}
	for _, c := range lifted {
		res.Lifted = append(res.Lifted, c.ID)
	}
	if len(suspended) > 0 {
		if p.StoppedAt == nil {
			now := s.now()
			p.StoppedAt = &now
		}
		if _, err := s.record(ctx, tx, b, p, AlertStop, env.SpendPercent); err != nil {
			return err
		}
		err := s.notify(ctx, tx, notify.Event{Type: notify.BudgetStopped, AccountID: b.AccountID, Data: map[string]any{
			"percent": env.SpendPercent, "limit": b.MonthlyLimit, "currency": string(b.Currency),
			"reset_on": p.PeriodEnd.Format("2006-01-02"), "services": serviceList(suspended)}})
		if err != nil {
			return err
		}
	}
	if len(lifted) > 0 {
		// Why the budget lets them go: the template words each reason.
		why := "released"
		switch {
		case p.OverriddenAt != nil:
			why = "override"
		case env.SpendPercent < 100:
			why = "below"
		}
		err := s.notify(ctx, tx, notify.Event{Type: notify.BudgetResumed, AccountID: b.AccountID, Data: map[string]any{
			"reason": why, "reset_on": p.PeriodEnd.Format("2006-01-02"), "services": serviceList(lifted)}})
		if err != nil {
			return err
		}
	}
	return nil
}

// spendOf sums the account's spend in [start, end) from the ledger.
func (s *Service) spendOf(ctx context.Context, tx bun.Tx, b *Budget, start, end time.Time) (int64, error) {
	sum, err := s.billing.Ledger().Sum(ctx, tx, b.AccountID, b.Currency, spendKinds, start, end)
	if err != nil {
		return 0, err
	}
	return max(-sum, 0), nil
}

// envOf is what rules see of the period (the service_* fields empty), and
// the reason rules cannot be evaluated when the account has more services
// than they can see.
func envOf(b *Budget, spend int64, start, end, now time.Time, services []candidate) (Env, []string) {
	env := Env{
		Spend: spend, Limit: b.MonthlyLimit, SpendPercent: percent(spend, b.MonthlyLimit),
		ProjectedPercent: projected(spend, b.MonthlyLimit, start, end, now),
		Currency:         string(b.Currency), DaysLeft: int64(money.Days(now, end)), DaysInPeriod: int64(money.Days(start, end)),
		HardStop: b.HardStop,
	}
	if len(services) > maxServices {
		return env, []string{fmt.Sprintf("the account has %d services, more than rules can see (%d): rules are not evaluated", len(services), maxServices)}
	}
	for _, c := range services {
		env.Services = append(env.Services, ServiceEnv{ID: c.ID, Type: c.Type, Plan: c.Plan, Label: clip(c.Label, maxLabel),
			Cycle: c.Cycle, Price: c.Price, Status: c.Status, Excluded: c.Excluded})
	}
	return env, nil
}

// candidates loads the account's active and suspended services with what
// the hard stop needs to know: the services from billing, the exclusions
// from budget caps' own table.
func (s *Service) candidates(ctx context.Context, tx bun.Tx, accountID string) ([]candidate, error) {
	facts, err := s.billing.AccountServiceFacts(ctx, tx, accountID, "active", "suspended")
	if err != nil {
		return nil, err
	}
	held, err := s.suspendedIDs(ctx, tx, accountID)
	if err != nil {
		return nil, err
	}
	var excluded []string
	if err := tx.NewSelect().Model((*exclusion)(nil)).Column("service_id").Where("account_id = ?", accountID).
		Scan(ctx, &excluded); err != nil {
		return nil, fmt.Errorf("budget: loading exclusions of %s: %w", accountID, err)
	}
	out := make([]candidate, len(facts))
	for i, f := range facts {
		out[i] = candidate{
			ID: f.ID, Status: f.Status, Label: f.Label, Cycle: f.Cycle, Price: f.Price, Type: f.ServiceType, Plan: f.PlanSlug,
			Excluded: slices.Contains(excluded, f.ID), BudgetHeld: slices.Contains(held, f.ID), Name: f.Name,
		}
	}
	return out, nil
}

// compileRule compiles a saved rule again (it compiled when saved; about
// 0.1 ms, and no cache to go stale when the environment changes).
func compileRule(src string) (*policy.Program[Env, bool], error) {
	return Rules.Compile(src)
}

func evalSource(src string, env Env) (bool, error) {
	prog, err := compileRule(src)
	if err != nil {
		return false, err
	}
	return prog.Eval(env)
}
