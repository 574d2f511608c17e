package money_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/money"
)

// TestCyclePrices is the design's rounding table, and more rows around the
// half-way points.
func TestCyclePrices(t *testing.T) {
	t.Parallel()
	type row struct {
		Monthly                     int64
		Quarterly, Annual, Biennial int64
	}
	rows := []row{
		{999, 2847, 10190, 19181},      // the design's example: 2847.15, 10189.8, 19180.8
		{0, 0, 0, 0},                   // free tier
		{1, 3, 10, 19},                 // 2.85, 10.2, 19.2
		{10, 29, 102, 192},             // 28.5 rounds up (half away from zero)
		{30, 86, 306, 576},             // 85.5 → 86
		{50, 143, 510, 960},            // 142.5 → 143
		{100, 285, 1020, 1920},         // exact
		{499, 1422, 5090, 9581},        // 1422.15, 5089.8, 9580.8
		{1999, 5697, 20390, 38381},     // 5697.15, 20389.8, 38380.8
		{2500, 7125, 25500, 48000},     // exact
		{4999, 14247, 50990, 95981},    // 14247.15, 50989.8, 95980.8
		{12345, 35183, 125919, 237024}, // 35183.25, 125919, 237024
		{333, 949, 3397, 6394},         // 949.05, 3396.6, 6393.6
	}
	for _, r := range rows {
		got := row{r.Monthly, money.CyclePrice(r.Monthly, money.Quarterly), money.CyclePrice(r.Monthly, money.Annual), money.CyclePrice(r.Monthly, money.Biennial)}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("monthly %d (-want +got):\n%s", r.Monthly, diff)
		}
		if m := money.CyclePrice(r.Monthly, money.Monthly); m != r.Monthly {
			t.Errorf("monthly price of %d = %d", r.Monthly, m)
		}
	}
}

func TestSaving(t *testing.T) {
	t.Parallel()
	type got struct{ Saving, BP int64 }
	cases := []struct {
		monthly, price int64
		cycle          money.Cycle
		want           got
	}{
		{999, 2847, money.Quarterly, got{150, 501}},   // 150/2997 = 500.5 bp
		{999, 10190, money.Annual, got{1798, 1500}},   // 1798/11988 = 14.998 %
		{999, 19181, money.Biennial, got{4795, 2000}}, // 4795/23976 = 19.999 %
		{1000, 3000, money.Quarterly, got{0, 0}},      // an override without discount
		{1000, 3100, money.Quarterly, got{-100, -333}},
		{0, 0, money.Annual, got{0, 0}},
	}
	for _, c := range cases {
		g := got{money.Saving(c.monthly, c.cycle, c.price), money.SavingBP(c.monthly, c.cycle, c.price)}
		if diff := cmp.Diff(c.want, g); diff != "" {
			t.Errorf("%d/%s at %d (-want +got):\n%s", c.monthly, c.cycle, c.price, diff)
		}
	}
}

// TestMulDivRoundsHalfAwayFromZero covers signs, exact halves and large
// values.
func TestMulDivRoundsHalfAwayFromZero(t *testing.T) {
	t.Parallel()
	cases := []struct{ x, num, den, want int64 }{
		{5, 1, 2, 3}, {-5, 1, 2, -3}, {5, -1, 2, -3}, {-5, -1, 2, 3},
		{7, 1, 2, 4}, {3, 1, 2, 2}, {1, 1, 2, 1}, {-1, 1, 2, -1},
		{1, 1, 3, 0}, {2, 1, 3, 1}, {-2, 1, 3, -1}, {-1, 1, 3, 0},
		{0, 5, 7, 0}, {10, 0, 3, 0},
		{14, 1, 4, 4},   // 3.5 → 4
		{-14, 1, 4, -4}, // -3.5 → -4
		{10, 1, 4, 3},   // 2.5 → 3
		{9, 1, 4, 2},    // 2.25 → 2
		{money.MaxAmount, 1_000_000, 1_000_000, money.MaxAmount},
		{money.MaxAmount, 999_999, 1_000_000, 9_999_990_000_000},
		{1 << 62, 2, 4, 1 << 61},
	}
	for _, c := range cases {
		if got := money.MulDiv(c.x, c.num, c.den); got != c.want {
			t.Errorf("MulDiv(%d, %d, %d) = %d, want %d", c.x, c.num, c.den, got, c.want)
		}
	}
}

func TestMulDivPanicsOnOverflow(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	money.MulDiv(1<<62, 4, 1)
}

func TestTaxAndPercent(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		got  int64
		want int64
	}{
		{"19% of 999", money.Tax(999, 190_000), 190},         // 189.81
		{"19% of 2847", money.Tax(2847, 190_000), 541},       // 540.93
		{"8.875% of 1000", money.Tax(1000, 88_750), 89},      // 88.75
		{"8.875% of 200", money.Tax(200, 88_750), 18},        // 17.75
		{"20% of 5", money.Tax(5, 200_000), 1},               // 1
		{"7.5% of 10", money.Tax(10, 75_000), 1},             // 0.75
		{"7.5% of 6", money.Tax(6, 75_000), 0},               // 0.45
		{"7.5% of 20", money.Tax(20, 75_000), 2},             // 1.5 → 2
		{"tax of a credit line", money.Tax(-20, 75_000), -2}, // -1.5 → -2
		{"10% of 999", money.PercentOf(999, 1000), 100},      // 99.9
		{"25% of 2", money.PercentOf(2, 2500), 1},            // 0.5 → 1
		{"33.33% of 100", money.PercentOf(100, 3333), 33},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestAddCycleAnchorsMonthEnds: periods advance on the anchor day, clamped
// to short months and leap Februaries, and come back to the anchor.
func TestAddCycleAnchorsMonthEnds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		start  string
		cycle  money.Cycle
		anchor int
		want   string
	}{
		{"2024-01-31", money.Monthly, 31, "2024-02-29"}, // leap year
		{"2024-02-29", money.Monthly, 31, "2024-03-31"}, // back to the anchor
		{"2023-01-31", money.Monthly, 31, "2023-02-28"},
		{"2023-02-28", money.Monthly, 31, "2023-03-31"},
		{"2024-03-31", money.Monthly, 31, "2024-04-30"},
		{"2024-01-30", money.Monthly, 30, "2024-02-29"},
		{"2024-01-15", money.Monthly, 15, "2024-02-15"},
		{"2024-11-30", money.Quarterly, 30, "2025-02-28"},
		{"2024-02-29", money.Annual, 29, "2025-02-28"},
		{"2023-02-28", money.Annual, 29, "2024-02-29"}, // anchor 29 returns in the leap year
		{"2024-02-29", money.Biennial, 29, "2026-02-28"},
		{"2023-12-31", money.Monthly, 31, "2024-01-31"},
		{"2024-12-31", money.Quarterly, 31, "2025-03-31"},
		{"2024-08-31", money.Quarterly, 31, "2024-11-30"},
	}
	for _, c := range cases {
		got := money.AddCycle(date(c.start), c.cycle, c.anchor).Format("2006-01-02")
		if got != c.want {
			t.Errorf("AddCycle(%s, %s, anchor %d) = %s, want %s", c.start, c.cycle, c.anchor, got, c.want)
		}
	}
}

// TestProrationUsesActualDays: the share of a cycle is days left over the
// actual days of that cycle, across month ends and leap years.
func TestProrationUsesActualDays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name              string
		start, end, today string
		amount            int64
		wantLeft, wantAll int
		want              int64
	}{
		{"february of a leap year", "2024-02-01", "2024-03-01", "2024-02-15", 2900, 15, 29, 1500},
		{"february of a common year", "2023-02-01", "2023-03-01", "2023-02-15", 2800, 14, 28, 1400},
		{"31-day month", "2024-01-01", "2024-02-01", "2024-01-17", 3100, 15, 31, 1500},
		{"30-day month, half away from zero", "2024-04-01", "2024-05-01", "2024-04-16", 999, 15, 30, 500}, // 499.5
		{"across the year end", "2024-12-15", "2025-01-15", "2024-12-31", 3100, 15, 31, 1500},
		{"anchored period ending Feb 29", "2024-01-31", "2024-02-29", "2024-02-14", 2900, 15, 29, 1500},
		{"leap year annual", "2024-01-01", "2025-01-01", "2024-07-01", 36600, 184, 366, 18400},
		{"common year annual", "2023-01-01", "2024-01-01", "2023-07-01", 36500, 184, 365, 18400},
		{"annual across a leap day", "2023-06-01", "2024-06-01", "2024-03-01", 36600, 92, 366, 9200},
		{"first day: everything", "2024-02-01", "2024-03-01", "2024-02-01", 2900, 29, 29, 2900},
		{"last day: one day", "2024-02-01", "2024-03-01", "2024-02-29", 2900, 1, 29, 100},
		{"after the end: nothing", "2024-02-01", "2024-03-01", "2024-03-02", 2900, -1, 29, 0},
		{"time of day is ignored", "2024-02-01", "2024-03-01", "2024-02-15", 2900, 15, 29, 1500},
	}
	for _, c := range cases {
		start, end, today := date(c.start), date(c.end), date(c.today)
		if c.name == "time of day is ignored" {
			today = today.Add(23*time.Hour + 59*time.Minute)
		}
		left, all := money.Days(today, end), money.Days(start, end)
		got := money.Prorate(c.amount, left, all)
		if left != c.wantLeft || all != c.wantAll || got != c.want {
			t.Errorf("%s: %d of %d days → %d, want %d of %d → %d", c.name, left, all, got, c.wantLeft, c.wantAll, c.want)
		}
	}
}

// TestAllocateSumsToTotal checks fixed cases and random ones.
func TestAllocateSumsToTotal(t *testing.T) {
	t.Parallel()
	cases := []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{-100, []int64{1, 1, 1}, []int64{-34, -33, -33}},
		{5, []int64{2, 0, 3}, []int64{2, 0, 3}},
		{1, []int64{1, 1}, []int64{1, 0}},
		{999, []int64{2847, 10190}, []int64{218, 781}}, // 218.17, 780.83
		{0, []int64{1, 2}, []int64{0, 0}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, money.Allocate(c.total, c.weights)); diff != "" {
			t.Errorf("Allocate(%d, %v) (-want +got):\n%s", c.total, c.weights, diff)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		n := 1 + r.IntN(8)
		w := make([]int64, n)
		for i := range w {
			w[i] = r.Int64N(10_000)
		}
		w[r.IntN(n)]++ // never all zero
		total := r.Int64N(2*money.MaxAmount) - money.MaxAmount
		parts := money.Allocate(total, w)
		var sum int64
		for _, p := range parts {
			sum += p
		}
		if sum != total {
			t.Fatalf("Allocate(%d, %v) = %v sums to %d", total, w, parts, sum)
		}
	}
}

func TestFormatAndParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		amount int64
		cur    money.Currency
		text   string
	}{
		{1234, "USD", "12.34"}, {-5, "USD", "-0.05"}, {0, "EUR", "0.00"}, {100, "USD", "1.00"},
		{1000, "JPY", "1000"}, {-1, "JPY", "-1"}, {1234, "KWD", "1.234"}, {7, "KWD", "0.007"},
	}
	for _, c := range cases {
		if got := money.Format(c.amount, c.cur); got != c.text {
			t.Errorf("Format(%d, %s) = %q, want %q", c.amount, c.cur, got, c.text)
		}
		back, err := money.Parse(c.text, c.cur)
		if err != nil || back != c.amount {
			t.Errorf("Parse(%q, %s) = %d, %v", c.text, c.cur, back, err)
		}
	}
	for _, bad := range []string{"", "1.234", "1.", ".5", "abc", "1e3", "--1", "1.-5", "99999999999999999999"} {
		if v, err := money.Parse(bad, "USD"); err == nil {
			t.Errorf("Parse(%q) = %d, want an error", bad, v)
		}
	}
	if v, err := money.Parse("5", "USD"); err != nil || v != 500 {
		t.Errorf("Parse(5) = %d, %v", v, err)
	}
	if got := money.New(2847, "USD").String(); got != "28.47 USD" {
		t.Errorf("String = %q", got)
	}
}

func TestCurrency(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"USD", "EUR", "JPY"} {
		if _, err := money.ParseCurrency(c); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []string{"usd", "US", "USDX", ""} {
		if _, err := money.ParseCurrency(c); err == nil {
			t.Errorf("ParseCurrency(%q) accepted", c)
		}
	}
	got := fmt.Sprint(money.Currency("USD").Exponent(), money.Currency("JPY").Exponent(), money.Currency("BHD").Exponent())
	if got != "2 0 3" {
		t.Errorf("exponents = %s", got)
	}
}

func TestParseCycle(t *testing.T) {
	t.Parallel()
	for _, c := range money.Cycles() {
		if got, err := money.ParseCycle(string(c)); err != nil || got != c {
			t.Errorf("ParseCycle(%s) = %s, %v", c, got, err)
		}
	}
	if _, err := money.ParseCycle("weekly"); err == nil {
		t.Error("weekly accepted")
	}
}
