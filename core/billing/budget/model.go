package budget

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/money"
	"github.com/ezscale/platform/core/policy"
)

// Budget is an account's budget settings.
type Budget struct {
	bun.BaseModel `bun:"table:budgets"`

	AccountID    string         `bun:"account_id,pk" json:"account_id"`
	Currency     money.Currency `bun:"currency" json:"currency"`
	MonthlyLimit int64          `bun:"monthly_limit" json:"monthly_limit"`
	Thresholds   Thresholds     `bun:"thresholds" json:"thresholds"`
	HardStop     bool           `bun:"hard_stop" json:"hard_stop"`
	ResetDay     int            `bun:"reset_day" json:"reset_day"`
	AlertRule    string         `bun:"alert_rule" json:"alert_rule"`
	StopRule     string         `bun:"stop_rule" json:"stop_rule"`
	RuleError    string         `bun:"rule_error" json:"rule_error,omitempty"`
	CreatedAt    time.Time      `bun:"created_at" json:"created_at"`
	UpdatedAt    time.Time      `bun:"updated_at" json:"updated_at"`
}

// Thresholds are whole percentages of the limit, ascending, stored as a
// JSON array.
type Thresholds []int64

// DefaultThresholds are the alerts of a budget saved without any.
var DefaultThresholds = Thresholds{50, 75, 90}

// Period is the state of one budget period.
type Period struct {
	bun.BaseModel `bun:"table:budget_periods"`

	AccountID       string     `bun:"account_id,pk" json:"-"`
	PeriodStart     time.Time  `bun:"period_start,pk" json:"period_start"`
	PeriodEnd       time.Time  `bun:"period_end" json:"period_end"`
	Spend           int64      `bun:"spend" json:"spend"`
	CheckedSeq      int64      `bun:"checked_seq" json:"-"`
	CheckedAt       time.Time  `bun:"checked_at" json:"checked_at"`
	StoppedAt       *time.Time `bun:"stopped_at" json:"stopped_at,omitempty"`
	OverriddenAt    *time.Time `bun:"overridden_at" json:"overridden_at,omitempty"`
	OverrideEntryID string     `bun:"override_entry_id" json:"override_entry_id,omitempty"`
	OverrideAmount  int64      `bun:"override_amount" json:"override_amount,omitempty"`
}

// Alert is an alert sent in a period.
type Alert struct {
	bun.BaseModel `bun:"table:budget_alerts"`

	AccountID   string    `bun:"account_id,pk" json:"-"`
	PeriodStart time.Time `bun:"period_start,pk" json:"-"`
	// Key is a threshold ("75"), "limit", "rule", "stop" or "override".
	Key       string    `bun:"key,pk" json:"key"`
	Spend     int64     `bun:"spend" json:"spend"`
	Percent   int64     `bun:"percent" json:"percent"`
	CreatedAt time.Time `bun:"created_at" json:"created_at"`
}

// Alert keys besides thresholds.
const (
	AlertLimit    = "limit"
	AlertRule     = "rule"
	AlertStop     = "stop"
	AlertOverride = "override"
)

type exclusion struct {
	bun.BaseModel `bun:"table:budget_exclusions"`

	ServiceID string    `bun:"service_id,pk"`
	AccountID string    `bun:"account_id"`
	CreatedAt time.Time `bun:"created_at"`
}

// Settings are what an account sets; zero values take defaults.
type Settings struct {
	// MonthlyLimit in minor units of Currency; required, > 0.
	MonthlyLimit int64 `json:"monthly_limit"`
	// Currency defaults to the account's credit currency (or billing
	// profile's); spend in other currencies is not counted.
	Currency money.Currency `json:"currency,omitempty"`
	// Thresholds default to 50, 75 and 90 %; an empty list (not omitted)
	// means no threshold alerts. Each is 1–1000, distinct.
	Thresholds *[]int64 `json:"thresholds,omitempty"`
	HardStop   bool     `json:"hard_stop"`
	// ResetDay is the day of the month the budget resets (1–31, clamped to
	// short months); default: the account's first billing day, else 1.
	ResetDay  int    `json:"reset_day,omitempty"`
	AlertRule string `json:"alert_rule,omitempty"`
	StopRule  string `json:"stop_rule,omitempty"`
}

// validate checks s and compiles its rules; rule errors carry their
// position (apperr.FieldError Line and Column).
func (s *Settings) validate() error {
	var errs apperr.Fields
	if s.MonthlyLimit <= 0 {
		errs.Add("monthly_limit", "must be more than zero")
	} else if money.CheckAmount(s.MonthlyLimit) != nil {
		errs.Add("monthly_limit", "is too large")
	}
	if s.Currency != "" && !s.Currency.Valid() {
		errs.Add("currency", "must be an ISO 4217 code")
	}
	if s.Thresholds != nil {
		if len(*s.Thresholds) > 10 {
			errs.Add("thresholds", "at most 10")
		}
		seen := map[int64]bool{}
		for _, t := range *s.Thresholds {
			if t < 1 || t > 1000 {
				errs.Add("thresholds", "each must be a whole percentage from 1 to 1000, not %d", t)
				break
			}
			if seen[t] {
				errs.Add("thresholds", "%d is listed twice", t)
				break
			}
			seen[t] = true
		}
	}
	if s.ResetDay != 0 && (s.ResetDay < 1 || s.ResetDay > 31) {
		errs.Add("reset_day", "must be a day of the month, 1 to 31")
	}
	for _, r := range []struct{ field, src string }{{"alert_rule", s.AlertRule}, {"stop_rule", s.StopRule}} {
		if r.src == "" {
			continue
		}
		if _, err := Rules.Compile(r.src); err != nil {
			perr, ok := err.(*policy.Error)
			if !ok {
				return fmt.Errorf("budget: compiling %s: %w", r.field, err)
			}
			errs = append(errs, apperr.FieldError{Field: r.field, Message: perr.Error(), Line: perr.Line, Column: perr.Column, Snippet: perr.Snippet})
		}
	}
	return errs.Err()
}

func (s *Settings) thresholds() Thresholds {
	if s.Thresholds == nil {
		return slices.Clone(DefaultThresholds)
	}
	t := Thresholds(slices.Clone(*s.Thresholds))
	slices.Sort(t)
	return t
}

// Scan and Value store Thresholds as JSON text on both databases.
func (t *Thresholds) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*t = nil
		return nil
	default:
		return fmt.Errorf("budget: thresholds: unexpected %T", src)
	}
	return json.Unmarshal(b, (*[]int64)(t))
}

// Value implements driver.Valuer.
func (t Thresholds) Value() (any, error) {
	if t == nil {
		t = Thresholds{}
	}
	b, err := json.Marshal([]int64(t))
	return string(b), err
}
