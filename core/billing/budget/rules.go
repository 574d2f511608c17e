package budget

import (
	"unicode/utf8"

	"github.com/ezscale/platform/core/policy"
)

// Env is what budget rules see. In the alert rule the service_* fields are
// empty; in the stop rule they describe the service being decided.
type Env struct {
	Spend            int64  `expr:"spend" doc:"what the account spent this period, in minor units (cents)"`
	Limit            int64  `expr:"limit" doc:"the monthly limit, in minor units"`
	SpendPercent     int64  `expr:"spend_percent" doc:"spend as a whole percentage of the limit, rounded down (104 means 104 %)"`
	ProjectedPercent int64  `expr:"projected_percent" doc:"spend projected to the end of the period at the pace so far, as a whole percentage of the limit"`
	Currency         string `expr:"currency" doc:"the budget's ISO 4217 currency"`
	DaysLeft         int64  `expr:"days_left" doc:"whole days until the budget resets"`
	DaysInPeriod     int64  `expr:"days_in_period" doc:"length of the period in days"`
	HardStop         bool   `expr:"hard_stop" doc:"whether the hard stop is on"`

	ServiceID    string `expr:"service_id" doc:"the service being decided (stop rule; empty in the alert rule)"`
	ServiceType  string `expr:"service_type" doc:"vps, dedicated, hosting, game or kasm"`
	ServicePlan  string `expr:"service_plan" doc:"the slug of the service's plan"`
	ServiceLabel string `expr:"service_label" doc:"the customer's label (first 255 bytes)"`
	ServiceCycle string `expr:"service_cycle" doc:"monthly, quarterly, annual or biennial"`
	ServicePrice int64  `expr:"service_price" doc:"the service's price per cycle, in minor units"`

	Services []ServiceEnv `expr:"services" doc:"the account's active and suspended services (at most 1000)"`
}

// ServiceEnv is one service in Env.Services.
type ServiceEnv struct {
	ID       string `expr:"id"`
	Type     string `expr:"type"`
	Plan     string `expr:"plan"`
	Label    string `expr:"label"`
	Cycle    string `expr:"cycle"`
	Price    int64  `expr:"price"`
	Status   string `expr:"status" doc:"active or suspended"`
	Excluded bool   `expr:"excluded" doc:"excluded from the hard stop"`
}

// maxServices bounds Env.Services: an account with more services than this
// cannot be described to rules, and its checks fall back to the defaults
// (see Check).
const maxServices = 1000

// Rules is the "budget" rule kind.
var Rules = policy.Register[Env, bool](policy.KindBudget,
	"Budget rules: alert_rule sends one extra alert per period when it holds; stop_rule decides, per service, "+
		"whether the hard stop suspends it (default: spend_percent >= 100).",
	policy.WithLimits(policy.Limits{MaxSliceLen: maxServices}))

// DefaultStopRule is the stop rule of a budget that has none.
const DefaultStopRule = "spend_percent >= 100"

// maxLabel is the longest label handed to rules; longer ones are cut at a
// character boundary, so a customer's label can never exceed the limits of
// the environment.
const maxLabel = 255

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
