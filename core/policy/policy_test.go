package policy

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompileEvalBool(t *testing.T) {
	t.Parallel()

	tests := []struct {
		src  string
		want bool
	}{
		{`spend_percent >= 80 && service_type == "game"`, true},
		{`spend_percent >= 90`, false},
		{`spend * 100 / limit >= 85`, true},
		{`ratio > 0.8 and not hard_stop`, true},
		{`"vip" in tags`, true},
		{`"eu" not in tags`, false},
		{`any(services, .type == "game" && .price > 1000)`, true},
		{`all(services, .excluded)`, false},
		{`count(services, !.excluded) == 1`, true},
		{`sum(services, .price) == 2499`, true},
		{`len(filter(services, "minecraft" in .tags)) == 1`, true},
		{`map(services, .id)[1] == "s2"`, true},
		{`meta.plan == "pro" && meta.missing == ""`, true},
		{`spend_percent > 90 ? true : nil`, false}, // nil is false for a bool rule
		{`"plan" in meta`, true},
		{`account.country in ["DE", "FR"] && account.age_days > 365`, true},
		{`service_type matches "^ga"`, true},
		{`upper(service_type) == "GAME" && hasPrefix(service_type, "ga")`, true},
		{`spend_percent in 80..89`, true},
		{`first(tags) == "eu" && last(tags) == "vip"`, true},
		{`max(spend_percent, 90) == 90 && abs(-3) == 3`, true},
		{`spend_percent > 50 ? service_type == "game" : false`, true},
		{`if spend_percent > 95 { true } else { service_type startsWith "g" }`, true},
		{`services[0].tags[0] endsWith "craft"`, true},
		{`tags[1:] == ["vip"]`, true},
		{"spend_percent >= 80 &&\n  service_type == \"game\"", true},
		{`tags[-1] == 'vip' && (services[-1]?.id ?? "none") == "s2"`, true},
		{`services | filter(.excluded) | len() == 1`, true},
		{`any(tags, # == "vip")`, true},
		{`find(services, .price < 1000).id == "s2" && findIndex(services, .excluded) == 1`, true},
		{`none(services, .price > 10000) && one(services, .excluded)`, true},
		{`trim(" game ") == service_type && indexOf(service_type, "me") == 2`, true},
		{`int("12") + floor(1.5) == 13 && round(ratio) == 1`, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			p, err := Compile[testEnv, bool](tt.src)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			got, err := p.Eval(sampleEnv())
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != tt.want {
				t.Errorf("Eval = %v, want %v", got, tt.want)
			}
			if p.Cost() <= 0 || p.Cost() > p.Limits().MaxCost {
				t.Errorf("Cost() = %d, want within (0, %d]", p.Cost(), p.Limits().MaxCost)
			}
		})
	}
}

type tier string

type namedEnv struct {
	Tier tier `expr:"tier"`
}

func TestResultTypes(t *testing.T) {
	t.Parallel()

	t.Run("int64", func(t *testing.T) {
		t.Parallel()
		p, err := Compile[testEnv, int64](`spend_percent - 5`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(sampleEnv())
		if err != nil || got != 80 {
			t.Errorf("Eval = %v, %v; want 80", got, err)
		}
	})
	t.Run("int from float", func(t *testing.T) {
		t.Parallel()
		p, err := Compile[testEnv, int](`ratio * 10`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(sampleEnv())
		if err != nil || got != 8 {
			t.Errorf("Eval = %v, %v; want 8", got, err)
		}
	})
	t.Run("float64", func(t *testing.T) {
		t.Parallel()
		p, err := Compile[testEnv, float64](`ratio * 2`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(sampleEnv())
		if err != nil || got != 1.7 {
			t.Errorf("Eval = %v, %v; want 1.7", got, err)
		}
	})
	t.Run("string", func(t *testing.T) {
		t.Parallel()
		p, err := Compile[testEnv, string](`spend_percent > 80 ? "high" : "low"`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(sampleEnv())
		if err != nil || got != "high" {
			t.Errorf("Eval = %q, %v; want high", got, err)
		}
	})
	t.Run("named string type", func(t *testing.T) {
		t.Parallel()
		p, err := Compile[namedEnv, string](`tier`)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(namedEnv{Tier: "gold"})
		if err != nil || got != "gold" {
			t.Errorf("Eval = %q, %v; want gold", got, err)
		}
	})
	t.Run("untyped result checked at run time", func(t *testing.T) {
		t.Parallel()
		p, err := Compile[testEnv, string](`spend_percent > 90 ? "high" : nil`)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Eval(sampleEnv())
		var perr *Error
		if !errors.As(err, &perr) || !strings.Contains(perr.Msg, "returned nil, not string") {
			t.Errorf("Eval error = %v, want a policy error about the nil result", err)
		}
	})
}

func TestEvalRuntimeError(t *testing.T) {
	t.Parallel()

	p, err := Compile[testEnv, bool]("spend_percent > 0 &&\n  spend % (limit - limit) == 0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Eval(sampleEnv())
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Eval error = %v, want *Error", err)
	}
	want := &Error{Line: 2, Column: 9, Msg: "runtime error: integer divide by zero", Snippet: " |   spend % (limit - limit) == 0\n |         ^"}
	if diff := cmp.Diff(want, perr); diff != "" {
		t.Errorf("Eval error (-want +got):\n%s", diff)
	}
}

func TestEvalConcurrent(t *testing.T) {
	t.Parallel()

	p, err := Compile[testEnv, bool](`any(services, .price > spend_percent * 10)`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				env := sampleEnv()
				env.SpendPercent = int64((g*200 + i) % 300)
				got, err := p.Eval(env)
				if err != nil {
					errs <- err
					return
				}
				if want := env.SpendPercent*10 < 1500; got != want {
					errs <- errors.New("wrong result under concurrency")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()

	_, err := Compile[testEnv, bool](`spend_percent >= "80"`)
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Compile error = %v, want *Error", err)
	}
	if got, want := perr.Error(), `1:15: invalid operation: >= (mismatched types int64 and string)`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	want := "1:15: invalid operation: >= (mismatched types int64 and string)\n | spend_percent >= \"80\"\n |               ^"
	if got := perr.Format(); got != want {
		t.Errorf("Format() =\n%s\nwant\n%s", got, want)
	}
}
