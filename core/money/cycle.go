package money

import (
	"fmt"
	"time"
)

// Cycle is a billing cycle.
type Cycle string

// The billing cycles, shortest first.
const (
	Monthly   Cycle = "monthly"
	Quarterly Cycle = "quarterly"
	Annual    Cycle = "annual"
	Biennial  Cycle = "biennial"
)

// Cycles lists every cycle, shortest first.
func Cycles() []Cycle { return []Cycle{Monthly, Quarterly, Annual, Biennial} }

// ParseCycle returns s as a Cycle.
func ParseCycle(s string) (Cycle, error) {
	c := Cycle(s)
	if c.Months() == 0 {
		return "", fmt.Errorf("money: %q is not a billing cycle (monthly, quarterly, annual, biennial)", s)
	}
	return c, nil
}

// Valid reports whether c is a known cycle.
func (c Cycle) Valid() bool { return c.Months() > 0 }

// Months is the cycle's length in calendar months (0 for an unknown cycle).
func (c Cycle) Months() int {
	switch c {
	case Monthly:
		return 1
	case Quarterly:
		return 3
	case Annual:
		return 12
	case Biennial:
		return 24
	}
	return 0
}

// DiscountBP is the cycle's discount against paying monthly, in basis
// points: 5 % quarterly, 15 % annual, 20 % biennial.
func (c Cycle) DiscountBP() int64 {
	switch c {
	case Quarterly:
		return 500
	case Annual:
		return 1500
	case Biennial:
		return 2000
	}
	return 0
}

// CyclePrice derives the price of one cycle from a monthly price: monthly ×
// months × (1 − discount), rounded once, half away from zero. 999 →
// quarterly 2847, annual 10190, biennial 19181.
func CyclePrice(monthly int64, c Cycle) int64 {
	if !c.Valid() {
		panic("money: CyclePrice of an unknown cycle " + string(c))
	}
	return MulDiv(monthly*int64(c.Months()), BasisPoints-c.DiscountBP(), BasisPoints)
}

// Saving is what paying price for one cycle saves against paying monthly
// for the same months (negative when the price is dearer).
func Saving(monthly int64, c Cycle, price int64) int64 {
	return monthly*int64(c.Months()) - price
}

// SavingBP is Saving as basis points of the monthly cost of the cycle,
// rounded once (0 when the plan is free).
func SavingBP(monthly int64, c Cycle, price int64) int64 {
	full := monthly * int64(c.Months())
	if full <= 0 {
		return 0
	}
	return MulDiv(full-price, BasisPoints, full)
}

// AddMonths returns the date n months after t on anchorDay (1-31),
// clamped to the month's last day, at t's time of day in UTC. Anchoring
// keeps a service billed on the 31st from drifting to the 28th for good
// after February.
func AddMonths(t time.Time, n, anchorDay int) time.Time {
	t = t.UTC()
	if anchorDay < 1 || anchorDay > 31 {
		anchorDay = t.Day()
	}
	first := time.Date(t.Year(), t.Month(), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC).AddDate(0, n, 0)
	day := min(anchorDay, DaysInMonth(first.Year(), first.Month()))
	return first.AddDate(0, 0, day-1)
}

// AddCycle returns the end of the cycle that starts at t, on anchorDay.
func AddCycle(t time.Time, c Cycle, anchorDay int) time.Time {
	return AddMonths(t, c.Months(), anchorDay)
}

// DaysInMonth returns the number of days of month m of year y (leap years
// included).
func DaysInMonth(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// Date returns t's calendar day at midnight UTC.
func Date(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// Days counts the calendar days from a's date to b's date in UTC (negative
// when b is earlier). Computed on dates, so it is exact across month ends,
// leap days and any time of day.
func Days(a, b time.Time) int {
	da, db := Date(a), Date(b)
	// Whole days: both are UTC midnights, and UTC has no DST.
	return int(db.Sub(da) / (24 * time.Hour))
}
