package money

import "math/bits"

// MulDiv returns x × num / den rounded once, half away from zero: the only
// division in the package. den must be positive; num may be zero or
// negative. It panics when the result does not fit in int64, which amounts
// bounded by MaxAmount and factors up to 10^6 cannot reach.
func MulDiv(x, num, den int64) int64 {
	if den <= 0 {
		panic("money: MulDiv with a non-positive denominator")
	}
	neg := (x < 0) != (num < 0)
	ux, unum := abs(x), abs(num)
	hi, lo := bits.Mul64(ux, unum)
	if hi >= uint64(den) {
		panic("money: MulDiv overflows int64")
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	// Half away from zero on the magnitude: round up when the remainder is
	// at least half the divisor (r ≥ den - r avoids overflowing 2r).
	if r >= uint64(den)-r {
		q++
	}
	if q > 1<<63-1 {
		panic("money: MulDiv overflows int64")
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}

func abs(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1 // safe for MinInt64
	}
	return uint64(v)
}

// BasisPoints per whole: 10000 bp = 100 %.
const BasisPoints = 10_000

// PPM (parts per million) per whole: tax rates such as 8.875 % are 88750 ppm.
const PPM = 1_000_000

// PercentOf returns bp basis points of amount (bp 1500 = 15 %), rounded once.
func PercentOf(amount, bp int64) int64 { return MulDiv(amount, bp, BasisPoints) }

// Tax returns the tax on a net amount at ratePPM parts per million, rounded
// once (19 % is 190000 ppm).
func Tax(net, ratePPM int64) int64 { return MulDiv(net, ratePPM, PPM) }

// Prorate returns the share of amount for part out of whole units (days),
// rounded once. Part is clamped to [0, whole].
func Prorate(amount int64, part, whole int) int64 {
	if whole <= 0 {
		panic("money: Prorate over an empty whole")
	}
	part = min(max(part, 0), whole)
	return MulDiv(amount, int64(part), int64(whole))
}

// Allocate splits total in proportion to weights so that the parts always
// sum to total: each part is rounded down (toward zero) and the remainder
// goes one minor unit at a time to the parts with the largest fractional
// remainders, earlier parts first on ties. Weights must be non-negative
// and not all zero; a negative total is split like its magnitude.
func Allocate(total int64, weights []int64) []int64 {
	var sum int64
	for _, w := range weights {
		if w < 0 {
			panic("money: Allocate with a negative weight")
		}
		sum += w
	}
	if sum == 0 {
		panic("money: Allocate with zero weights")
	}
	sign := int64(1)
	if total < 0 {
		sign, total = -1, -total
	}
	parts := make([]int64, len(weights))
	rems := make([]uint64, len(weights))
	var given int64
	for i, w := range weights {
		hi, lo := bits.Mul64(uint64(total), uint64(w))
		q, r := bits.Div64(hi, lo, uint64(sum))
		parts[i], rems[i] = int64(q), r
		given += int64(q)
	}
	for left := total - given; left > 0; left-- {
		best := -1
		for i := range rems {
			if weights[i] > 0 && (best < 0 || rems[i] > rems[best]) {
				best = i
			}
		}
		parts[best]++
		rems[best] = 0
	}
	for i := range parts {
		parts[i] *= sign
	}
	return parts
}
