package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzSeeds are valid rules that exercise every part of the language.
var fuzzSeeds = []string{
	`spend_percent >= 80 && service_type == "game"`,
	`any(services, .type == "game" && .price > 1000)`,
	`count(services, !.excluded) == 1 || sum(services, .price) > 10`,
	`len(filter(services, "minecraft" in .tags)) == 1`,
	`map(services, .id)[1] == "s2"`,
	`meta.plan == "pro" && "plan" in meta`,
	`account.country in ["DE", "FR"] && account.age_days > 365`,
	`service_type matches "^ga" && upper(service_type) == "GAME"`,
	`spend_percent in 80..89 ? first(tags) == "eu" : last(tags) == "vip"`,
	`if spend_percent > 95 { true } else { service_type startsWith "g" }`,
	`tags[1:] == ["vip"] && services[0].tags[0] endsWith "craft"`,
	`max(spend_percent, 90) == 90 && abs(-3) == 3 && ratio ** 2 < 1`,
	"spend_percent >= 80 &&\n  service_type == \"game\"",
	`all(services, any(.tags, # == service_type))`,
	// Over the memory budget (refused when compiled).
	`all(1..8, all(1..8, len([#, #, #, #, #, #, #, #]) > 0))`,
}

// fuzzLimits are the default limits scaled down, so that each input runs
// quickly over a full environment and the fuzzer explores more of them; the
// cost model scales with the limits.
var fuzzLimits = Limits{MaxSliceLen: 8, MaxMapLen: 8, MaxStringLen: 64, MaxCost: 50_000, MemoryBudget: 500}

// fuzzFullEnv is built once.
var fuzzFullEnv = sync.OnceValue(func() testEnv { return fullEnv(fuzzLimits) })

// FuzzCompile checks that no source makes Compile panic or return anything
// but an *Error with a position inside the source, and that whatever
// compiles evaluates over the heaviest environment the limits allow, within a
// generous bound, to a result or an *Error.
func FuzzCompile(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.expr"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile[testEnv, bool](src, WithLimits(fuzzLimits))
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Compile(%q) error = %v (%T), want *Error", src, err, err)
			}
			checkPosition(t, src, perr)
			return
		}
		if p.Cost() > p.Limits().MaxCost {
			t.Fatalf("Compile(%q) cost %d over the limit", src, p.Cost())
		}
		for _, env := range []testEnv{sampleEnv(), fuzzFullEnv()} {
			start := time.Now()
			_, err := p.Eval(env)
			// 50,000 steps are about 0.5ms; the bound is generous.
			if d := time.Since(start); d > time.Second {
				t.Fatalf("Eval(%q) took %v at cost %d", src, d, p.Cost())
			}
			if err != nil {
				var perr *Error
				if !errors.As(err, &perr) {
					t.Fatalf("Eval(%q) error = %v (%T), want *Error", src, err, err)
				}
				// The memory bound is static: what compiles never
				// allocates past the budget.
				if perr.Msg == "memory budget exceeded" {
					t.Fatalf("Eval(%q): %v, though it compiled", src, perr)
				}
				checkPosition(t, src, perr)
			}
		}
	})
}

// checkPosition fails unless e points inside src (or just past its end).
func checkPosition(t *testing.T, src string, e *Error) {
	t.Helper()
	if e.Line == 0 && e.Column == 0 {
		return // an input over its limits has no position
	}
	lines := strings.Split(src, "\n")
	if e.Line < 1 || e.Line > len(lines) {
		t.Fatalf("%q: error %v on line %d of %d", src, e, e.Line, len(lines))
	}
	if n := utf8.RuneCountInString(lines[e.Line-1]); e.Column < 1 || e.Column > n+1 {
		t.Fatalf("%q: error %v at column %d of a %d-character line", src, e, e.Column, n)
	}
	if e.Snippet == "" {
		t.Fatalf("%q: error %v has no snippet", src, e)
	}
}
