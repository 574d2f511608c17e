package money

import (
	"fmt"
	"regexp"
)

// Currency is an ISO 4217 alphabetic code, upper case ("USD").
type Currency string

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

// exponents lists the ISO 4217 currencies whose minor unit is not the
// hundredth; every other code has two decimals.
var exponents = map[Currency]int{
	// No minor unit.
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// Thousandths.
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// Ten-thousandths.
	"CLF": 4, "UYW": 4,
}

// Valid reports whether c has the shape of an ISO 4217 code.
func (c Currency) Valid() bool { return currencyRe.MatchString(string(c)) }

// Exponent is the number of decimals of the currency's minor unit.
func (c Currency) Exponent() int {
	if e, ok := exponents[c]; ok {
		return e
	}
	return 2
}

// ParseCurrency returns c as a Currency, or an error naming the problem.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(s)
	if !c.Valid() {
		return "", fmt.Errorf("money: %q is not an ISO 4217 code such as USD", s)
	}
	return c, nil
}

// MaxAmount bounds every amount the platform accepts: 10^13 minor units
// (a hundred billion dollars). Products of such an amount with the factors
// used here (at most a million) stay far below the int64 range.
const MaxAmount int64 = 10_000_000_000_000

// CheckAmount returns an error when |amount| exceeds MaxAmount.
func CheckAmount(amount int64) error {
	if amount > MaxAmount || amount < -MaxAmount {
		return fmt.Errorf("money: amount %d is outside ±%d", amount, MaxAmount)
	}
	return nil
}

// Money is an amount with its currency, the shape the API shows.
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// New returns amount in currency.
func New(amount int64, currency Currency) Money { return Money{Amount: amount, Currency: currency} }

// String formats m for people and logs: "12.34 USD".
func (m Money) String() string { return Format(m.Amount, m.Currency) + " " + string(m.Currency) }
