// Package money is the platform's arithmetic on amounts of money: int64
// minor units plus an ISO 4217 currency code, never a float.
//
// Rules (design, "Money"):
//
//   - An amount is an int64 count of the currency's minor unit (cents for
//     USD, yen for JPY, fils for KWD); Exponent gives the unit.
//   - Every division rounds once, half away from zero, to the minor unit:
//     MulDiv is the only place that divides, and the functions built on it
//     (CyclePrice, Prorate, Tax, PercentOf) round exactly once per call. A
//     caller computing an invoice rounds once per line and sums the lines.
//   - Splits always sum to the total (Allocate).
//
// Billing cycles (Cycle) carry the design's discounts: quarterly = monthly ×
// 3 × 0.95, annual = monthly × 12 × 0.85, biennial = monthly × 24 × 0.80,
// so 999 a month is 2847 a quarter, 10190 a year and 19181 for two years.
// Periods (AddCycle) advance by calendar months on an anchor day, clamped to
// the last day of short months (an anchor of the 31st bills on Feb 28 or 29,
// then Mar 31 again), and proration counts actual calendar days.
//
// Amounts are bounded by MaxAmount. Entry points (the HTTP API, plan
// prices) validate against it, which keeps every product in this package
// far inside int64; the functions panic on arguments that would overflow,
// which validated input cannot produce.
//
// The package has no I/O and no database; a test parses its sources and
// core/billing's and fails on any float type, literal or float-returning
// call.
package money
