package budget

import (
	"math/big"
	"time"

	"github.com/ezscale/platform/core/money"
)

// periodOf returns the budget period containing t: from resetDay (clamped
// to short months) at midnight UTC to the same day of the next month.
func periodOf(t time.Time, resetDay int) (start, end time.Time) {
	t = t.UTC()
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	start = money.AddMonths(first, 0, resetDay)
	if start.After(t) {
		start = money.AddMonths(first, -1, resetDay)
	}
	return start, money.AddMonths(start, 1, resetDay)
}

// percent returns floor(part × 100 / whole) without overflow, for part ≥ 0
// and whole > 0.
func percent(part, whole int64) int64 {
	return ratio(part, 100, whole)
}

// projected returns the spend percentage at the end of the period if
// spending goes on at the pace of the elapsed part: floor(spend × 100 ×
// (end − start) / (now − start) / limit), with at least an hour elapsed so
// that the first minutes of a period do not project wildly.
func projected(spend, limit int64, start, end, now time.Time) int64 {
	whole := int64(end.Sub(start) / time.Second)
	elapsed := max(int64(now.Sub(start)/time.Second), 3600)
	if elapsed >= whole {
		return percent(spend, limit)
	}
	n := new(big.Int).Mul(big.NewInt(spend), big.NewInt(100))
	n.Mul(n, big.NewInt(whole))
	d := new(big.Int).Mul(big.NewInt(elapsed), big.NewInt(limit))
	return clampInt64(n.Quo(n, d))
}

// ratio returns floor(x × num / den) for non-negative inputs, clamped to
// int64.
func ratio(x, num, den int64) int64 {
	if x <= 0 || den <= 0 {
		return 0
	}
	n := new(big.Int).Mul(big.NewInt(x), big.NewInt(num))
	return clampInt64(n.Quo(n, big.NewInt(den)))
}

func clampInt64(v *big.Int) int64 {
	if !v.IsInt64() {
		if v.Sign() < 0 {
			return 0
		}
		return 1<<63 - 1
	}
	return v.Int64()
}
