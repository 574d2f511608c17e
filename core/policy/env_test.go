package policy

import (
	"fmt"
	"strings"
)

// The environment of the package's tests: every kind of field a real
// environment may have.

type testService struct {
	ID       string   `expr:"id"`
	Type     string   `expr:"type" doc:"vps, dedicated, hosting, game or kasm"`
	Price    int64    `expr:"price"`
	Excluded bool     `expr:"excluded"`
	Tags     []string `expr:"tags"`
}

type testAccount struct {
	Country string `expr:"country"`
	AgeDays int    `expr:"age_days"`
}

type testEnv struct {
	SpendPercent int64             `expr:"spend_percent" doc:"spend as a percentage of the limit"`
	Spend        int64             `expr:"spend"`
	Limit        int64             `expr:"limit"`
	ServiceType  string            `expr:"service_type"`
	Ratio        float64           `expr:"ratio"`
	HardStop     bool              `expr:"hard_stop"`
	Tags         []string          `expr:"tags"`
	Services     []testService     `expr:"services"`
	Meta         map[string]string `expr:"meta"`
	Account      testAccount       `expr:"account"`
}

// sampleEnv is a small, typical environment.
func sampleEnv() testEnv {
	return testEnv{
		SpendPercent: 85, Spend: 8500, Limit: 10000, ServiceType: "game", Ratio: 0.85,
		Tags: []string{"eu", "vip"},
		Services: []testService{
			{ID: "s1", Type: "game", Price: 1500, Tags: []string{"minecraft"}},
			{ID: "s2", Type: "vps", Price: 999, Excluded: true},
		},
		Meta:    map[string]string{"plan": "pro"},
		Account: testAccount{Country: "DE", AgeDays: 400},
	}
}

// fullEnv fills every string, slice and map of the environment to its limit,
// with strings that differ only in their last bytes so comparisons read them
// whole: the heaviest input a rule can be given.
func fullEnv(l Limits) testEnv {
	l = l.withDefaults()
	str := func(i int) string {
		tail := fmt.Sprintf("%06d", i)
		return strings.Repeat("x", l.MaxStringLen-len(tail)) + tail
	}
	list := func(off int) []string {
		out := make([]string, l.MaxSliceLen)
		for i := range out {
			out[i] = str(off + i)
		}
		return out
	}
	env := testEnv{
		SpendPercent: 100, Spend: 1 << 40, Limit: 1 << 40, ServiceType: str(0), Ratio: 1,
		Tags: list(0), Meta: map[string]string{},
		Account: testAccount{Country: str(1), AgeDays: 1 << 20},
	}
	for i := range l.MaxSliceLen {
		env.Services = append(env.Services, testService{ID: str(i), Type: str(i + 1), Price: int64(i), Tags: list(i)})
	}
	for i := range l.MaxMapLen {
		env.Meta[str(i)] = str(i)
	}
	return env
}
