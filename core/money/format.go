package money

import (
	"fmt"
	"strconv"
	"strings"
)

// Format renders amount in the currency's decimals ("12.34", "-0.05",
// "1000" for JPY), without a currency code or grouping.
func Format(amount int64, c Currency) string {
	exp := c.Exponent()
	neg := amount < 0
	digits := strconv.FormatUint(abs(amount), 10)
	if exp > 0 {
		if len(digits) <= exp {
			digits = strings.Repeat("0", exp-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// Parse reads a decimal amount ("12.34", "-5", "0.5") in currency c into
// minor units. More decimals than the currency has is an error, never a
// rounding.
func Parse(s string, c Currency) (int64, error) {
	orig := s
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	exp := c.Exponent()
	if whole == "" || (hasDot && frac == "") || len(frac) > exp || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("money: %q is not an amount in %s with at most %d decimals", orig, c, exp)
	}
	frac += strings.Repeat("0", exp-len(frac))
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("money: %q is not an amount in %s with at most %d decimals", orig, c, exp)
	}
	if neg {
		v = -v
	}
	if err := CheckAmount(v); err != nil {
		return 0, err
	}
	return v, nil
}
