package payments

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/notify"
)

// AutoTopUp tops an account's credit up when it falls below a threshold.
type AutoTopUp struct {
	bun.BaseModel `bun:"table:auto_topups"`

	AccountID string `bun:"account_id,pk"`
	Enabled   bool   `bun:"enabled"`
	Threshold int64  `bun:"threshold"`
	// Amount to add, or (when Target is set) top up to Target.
	Amount          int64      `bun:"amount"`
	Target          int64      `bun:"target"`
	PaymentMethodID string     `bun:"payment_method_id"`
	Failures        int        `bun:"failures"`
	MaxFailures     int        `bun:"max_failures"`
	DisabledReason  string     `bun:"disabled_reason"`
	LastAttemptAt   *time.Time `bun:"last_attempt_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
}

// due returns what to add for balance, or 0.
func (a *AutoTopUp) due(balance int64) int64 {
	if !a.Enabled || balance >= a.Threshold {
		return 0
	}
	if a.Target > 0 {
		return max(a.Target-balance, 0)
	}
	return a.Amount
}

// AutoTopUpInput configures auto top-up.
type AutoTopUpInput struct {
	Enabled   bool  `json:"enabled"`
	Threshold int64 `json:"threshold"`
	// Amount to add each time, or Target to top up to (one of the two).
	Amount          int64  `json:"amount"`
	Target          int64  `json:"target"`
	PaymentMethodID string `json:"payment_method_id"`
	// MaxFailures in a row before it disables itself (default from
	// billing.auto_topup_max_failures).
	MaxFailures int `json:"max_failures"`
}

// AutoTopUpSettings returns the account's settings (disabled defaults when
// none were saved).
func (s *Payments) AutoTopUpSettings(ctx context.Context, accountID string) (*AutoTopUp, error) {
	a := &AutoTopUp{}
	err := s.db.Conn(ctx).NewSelect().Model(a).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return &AutoTopUp{AccountID: accountID, MaxFailures: s.opts.AutoTopUpMaxFailures}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("payments: loading auto top-up: %w", err)
	}
	return a, nil
}

// SetAutoTopUp saves the settings; enabling resets the failure count.
// Enabling needs something to charge: a configured payment gateway and a
// saved payment method (the one named, else the account's default), or it
// is refused rather than left to disable itself at the first top-up.
// Errors: Invalid, Unprocessable (enabled: no payment gateway;
// payment_method_id: no saved payment method).
func (s *Payments) SetAutoTopUp(ctx context.Context, accountID string, in AutoTopUpInput) (*AutoTopUp, error) {
	var errs apperr.Fields
	if in.Threshold < 0 || money.CheckAmount(in.Threshold) != nil {
		errs.Add("threshold", "must be a non-negative number of minor units")
	}
	if in.Amount < 0 || in.Target < 0 || money.CheckAmount(in.Amount) != nil || money.CheckAmount(in.Target) != nil {
		errs.Add("amount", "must be a non-negative number of minor units")
	}
	if in.Enabled {
		if (in.Amount > 0) == (in.Target > 0) {
			errs.Add("amount", "set either amount (added each time) or target (topped up to)")
		}
		if in.Target > 0 && in.Target <= in.Threshold {
			errs.Add("target", "must be above the threshold")
		}
	}
	if in.MaxFailures == 0 {
		in.MaxFailures = s.opts.AutoTopUpMaxFailures
	}
	if in.MaxFailures < 1 || in.MaxFailures > 20 {
		errs.Add("max_failures", "must be from 1 to 20")
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	a := &AutoTopUp{AccountID: accountID, Enabled: in.Enabled, Threshold: in.Threshold, Amount: in.Amount, Target: in.Target,
		PaymentMethodID: in.PaymentMethodID, MaxFailures: in.MaxFailures, UpdatedAt: s.now()}
	err := s.inTx(ctx, func(ctx context.Context, t *txn) error {
		if a.PaymentMethodID != "" {
			if _, err := s.methodTx(ctx, t, accountID, a.PaymentMethodID); err != nil {
				return apperr.Field("payment_method_id", "no such payment method")
			}
		}
		if a.Enabled {
			if err := s.canCharge(ctx, t, accountID, a.PaymentMethodID); err != nil {
				return err
			}
		}
		if _, err := t.NewInsert().Model(a).On("CONFLICT (account_id) DO UPDATE").
			Set("enabled = EXCLUDED.enabled, threshold = EXCLUDED.threshold, amount = EXCLUDED.amount, target = EXCLUDED.target").
			Set("payment_method_id = EXCLUDED.payment_method_id, max_failures = EXCLUDED.max_failures, failures = 0, disabled_reason = ''").
			Set("updated_at = EXCLUDED.updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("payments: saving auto top-up: %w", err)
		}
		t.Audit("billing.auto_topup.set", accountID, "account", accountID, map[string]any{
			"enabled": a.Enabled, "threshold": a.Threshold, "amount": a.Amount, "target": a.Target,
		})
		if a.Enabled {
			t.Enqueue(autoTopUpArgs{AccountID: accountID}, nil)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// canCharge refuses an automatic top-up that could never be charged: no
// payment gateway is configured, or the account has no saved method to
// charge (pmID, else its default).
func (s *Payments) canCharge(ctx context.Context, t *txn, accountID, pmID string) error {
	if s.opts.PaymentGateway == "" {
		return apperr.Refusal("enabled", "gateway_not_configured",
			"card payments are not configured on this platform, so automatic top-ups cannot be charged")
	}
	if pmID != "" {
		return nil // checked by the caller
	}
	p, err := s.billing.ProfileTx(ctx, t, accountID)
	if err != nil {
		return err
	}
	if p.DefaultPaymentMethodID == nil {
		return apperr.Refusal("payment_method_id", "no_payment_method",
			"the account has no saved payment method to charge: add one, or name one in payment_method_id")
	}
	return nil
}

// afterPosting is the ledger hook: after a debit, an account with auto
// top-up enabled whose balance fell below its threshold gets a check job.
func (s *Payments) afterPosting(ctx context.Context, tx bun.Tx, e *ledger.Entry) error {
	if e.Amount >= 0 {
		return nil
	}
	var enabled []string
	err := tx.NewSelect().Model((*AutoTopUp)(nil)).Column("account_id").Where("account_id = ?", e.AccountID).
		Where("enabled = ?", true).Where("threshold > ?", e.BalanceAfter).
		Where("NOT EXISTS (SELECT 1 FROM topups AS tu WHERE tu.account_id = ? AND tu.status = ?)", e.AccountID, TopUpPending).
		Scan(ctx, &enabled)
	if err != nil {
		return fmt.Errorf("payments: checking auto top-up: %w", err)
	}
	if len(enabled) == 0 {
		return nil
	}
	_, err = s.jobs.InsertTx(ctx, tx, autoTopUpArgs{AccountID: e.AccountID}, nil)
	return err
}

// autoTopUpArgs checks one account's auto top-up.
type autoTopUpArgs struct {
	AccountID string `json:"account_id"`
}

func (autoTopUpArgs) Kind() string { return "billing_auto_topup" }

// Checks are not unique jobs: a unique job still marked running for a
// moment after it finished would swallow the next check. Duplicates are
// harmless instead: checks of one account serialise on its balance row
// and a check finding a top-up in flight does nothing.

type autoTopUpWorker struct {
	river.WorkerDefaults[autoTopUpArgs]
	s *Payments
}

func (w *autoTopUpWorker) Timeout(*river.Job[autoTopUpArgs]) time.Duration {
	return w.s.billing.JobTimeout(time.Minute)
}

// Work creates a top-up when the balance is below the threshold and none
// is in flight; the top-up's own job charges it. It holds the balance row
// lock, so concurrent checks of one account run one after the other and
// the second sees the first's pending top-up; the top-up's key is the
// account's auto top-up attempt number.
func (w *autoTopUpWorker) Work(ctx context.Context, job *river.Job[autoTopUpArgs]) error {
	s := w.s
	return s.inTx(ctx, func(ctx context.Context, t *txn) error {
		a := &AutoTopUp{}
		if err := t.NewSelect().Model(a).Where("account_id = ?", job.Args.AccountID).Scan(ctx); err != nil {
			if database.IsNoRows(err) {
				return nil
			}
			return fmt.Errorf("payments: loading auto top-up: %w", err)
		}
		p, err := s.billing.ProfileTx(ctx, t, a.AccountID)
		if err != nil {
			return err
		}
		bal, err := s.ledger.Lock(ctx, t.Tx, a.AccountID, p.Currency)
		if err != nil {
			return err
		}
		amount := a.due(bal)
		if amount <= 0 {
			return nil
		}
		inFlight, err := t.NewSelect().Model((*TopUp)(nil)).Where("account_id = ?", a.AccountID).Where("status = ?", TopUpPending).Count(ctx)
		if err != nil {
			return fmt.Errorf("payments: checking pending top-ups: %w", err)
		}
		if inFlight > 0 {
			return nil // the pending one will credit (or fail and be counted)
		}
		attempts, err := t.NewSelect().Model((*TopUp)(nil)).Where("account_id = ?", a.AccountID).Where("source = ?", TopUpAuto).Count(ctx)
		if err != nil {
			return fmt.Errorf("payments: counting auto top-ups: %w", err)
		}
		now := s.now()
		key := fmt.Sprintf("auto:%d", attempts+1)
		if _, err := t.NewUpdate().Model(a).WherePK().Set("last_attempt_at = ?", now).Exec(ctx); err != nil {
			return fmt.Errorf("payments: recording auto top-up attempt: %w", err)
		}
		if _, err := s.createTopUp(ctx, t, a.AccountID, TopUpAuto, amount, a.PaymentMethodID, key); err != nil {
			if apperr.CodeOf(err) == apperr.Unprocessable || apperr.CodeOf(err) == apperr.Invalid {
				return s.disableAutoTopUp(ctx, t, a, "no usable payment method")
			}
			return err
		}
		return nil
	})
}

// autoTopUpFailed counts a failed automatic top-up, notifies, and disables
// auto top-up after MaxFailures in a row.
func (s *Payments) autoTopUpFailed(ctx context.Context, t *txn, tu *TopUp) error {
	a := &AutoTopUp{}
	if err := t.NewSelect().Model(a).Where("account_id = ?", tu.AccountID).Scan(ctx); err != nil {
		return fmt.Errorf("payments: loading auto top-up: %w", err)
	}
	a.Failures++
	if _, err := t.NewUpdate().Model(a).WherePK().Set("failures = ?", a.Failures).Exec(ctx); err != nil {
		return fmt.Errorf("payments: counting auto top-up failure: %w", err)
	}
	if a.Failures >= a.MaxFailures {
		return s.disableAutoTopUp(ctx, t, a, fmt.Sprintf("%d failed charges in a row (last: %s)", a.Failures, tu.Failure))
	}
	return s.tell(ctx, t, notify.Event{Type: notify.AutoTopUpFailed, AccountID: tu.AccountID, Link: "/credit",
		Data: map[string]any{"topup_id": tu.ID, "amount": tu.Amount, "currency": string(tu.Currency), "reason": tu.Failure,
			"failures": a.Failures, "max_failures": a.MaxFailures}})
}

func (s *Payments) disableAutoTopUp(ctx context.Context, t *txn, a *AutoTopUp, why string) error {
	if _, err := t.NewUpdate().Model(a).WherePK().Set("enabled = ?", false).Set("disabled_reason = ?", database.Text(why, 300)).
		Set("updated_at = ?", s.now()).Exec(ctx); err != nil {
		return fmt.Errorf("payments: disabling auto top-up: %w", err)
	}
	t.Audit("billing.auto_topup.disabled", a.AccountID, "account", a.AccountID, map[string]any{"reason": why})
	return s.tell(ctx, t, notify.Event{Type: notify.AutoTopUpDisabled, AccountID: a.AccountID, Link: "/credit",
		Data: map[string]any{"reason": why}})
}

// AutoTopUpStep is the billing run's auto_topup step (billing.Payer): it
// queues the check of every enabled auto top-up whose account's balance is
// below its threshold. It pages through the settings by account and reads
// their balances from the ledger, batch by batch.
func (s *Payments) AutoTopUpStep(ctx context.Context, asOf time.Time) (int64, error) {
	var total int64
	after := ""
	for {
		var settings []AutoTopUp
		err := s.db.Conn(ctx).NewSelect().Model(&settings).Column("account_id", "threshold").
			Where("enabled = ?", true).Where("account_id > ?", after).
			Order("account_id ASC").Limit(int64(s.opts.BatchSize)).Scan(ctx)
		if err != nil {
			return total, fmt.Errorf("payments: selecting auto top-ups: %w", err)
		}
		if len(settings) == 0 {
			return total, nil
		}
		after = settings[len(settings)-1].AccountID
		ids := make([]string, len(settings))
		for i, a := range settings {
			ids[i] = a.AccountID
		}
		balances, err := s.ledger.Balances(ctx, s.db.Conn(ctx), ids)
		if err != nil {
			return total, err
		}
		var params []river.InsertManyParams
		for _, a := range settings {
			if balances[a.AccountID].Amount < a.Threshold {
				params = append(params, river.InsertManyParams{Args: autoTopUpArgs{AccountID: a.AccountID}})
			}
		}
		if len(params) == 0 {
			continue
		}
		if err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return s.jobs.InsertManyTx(ctx, tx, params) }); err != nil {
			return total, err
		}
		total += int64(len(params))
	}
}
