package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// compileErr compiles src with limits and returns its *Error.
func compileErr(t *testing.T, src string, l Limits) *Error {
	t.Helper()
	_, err := Compile[testEnv, bool](src, WithLimits(l))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("Compile(%.40q) error = %v, want *Error", src, err)
	}
	return perr
}

func TestLimitSourceLength(t *testing.T) {
	t.Parallel()

	src := "spend_percent > 1 ||\n" + strings.Repeat("spend_percent > 1 || ", 10) + "true"
	l := Limits{MaxSourceLen: 40}
	got := compileErr(t, src, l)
	// Byte 40 is on line 2, column 20.
	want := &Error{Line: 2, Column: 20, Msg: "the expression is 235 bytes long, the limit is 40",
		Snippet: got.Snippet}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	atLimit := strings.Repeat(" ", 36) + "true"
	if _, err := Compile[testEnv, bool](atLimit, WithLimits(l)); err != nil {
		t.Errorf("a source of exactly the limit: %v", err)
	}
}

func TestLimitNodes(t *testing.T) {
	t.Parallel()

	src := strings.Repeat("spend_percent > 1 || ", 200) + "true"
	got := compileErr(t, src, Limits{MaxNodes: 100, MaxSourceLen: 10000})
	if got.Msg != "the expression has too many nodes" || got.Line != 1 {
		t.Errorf("error = %v, want too many nodes on line 1", got)
	}
	if _, err := Compile[testEnv, bool](src, WithLimits(Limits{MaxNodes: 1000, MaxSourceLen: 10000})); err != nil {
		t.Errorf("with room for the nodes: %v", err)
	}
}

func TestLimitCost(t *testing.T) {
	t.Parallel()

	src := `any(services, any(.tags, # == service_type))`
	p, err := Compile[testEnv, bool](src)
	if err != nil {
		t.Fatal(err)
	}
	got := compileErr(t, src, Limits{MaxCost: p.Cost() - 1})
	if !strings.HasPrefix(got.Msg, "any() over up to 100 elements may take") || got.Column != 1 {
		t.Errorf("error = %v, want the outer any() over its cost", got)
	}
	// The error points at the innermost construct over the limit.
	got = compileErr(t, "spend_percent > 0 && any(tags, # == service_type)", Limits{MaxCost: 100})
	if got.Column != 22 {
		t.Errorf("error = %v, want it at column 22 (the any)", got)
	}
}

func TestLimitCollectionLiterals(t *testing.T) {
	t.Parallel()

	l := Limits{MaxSliceLen: 3, MaxMapLen: 2}
	tests := []struct {
		src, msg string
	}{
		{`service_type in ["a", "b", "c", "d"]`, "the list has 4 elements, the limit is 3"},
		{`spend_percent in 1..4`, "the range has 4 elements, the limit is 3"},
		{`{"a": 1, "b": 2, "c": 3}.a == 1`, "the map has 3 entries, the limit is 2"},
	}
	for _, tt := range tests {
		if got := compileErr(t, tt.src, l); got.Msg != tt.msg {
			t.Errorf("%s: error = %v, want %q", tt.src, got, tt.msg)
		}
	}
	if _, err := Compile[testEnv, bool](`spend_percent in 1..3 && service_type in ["a", "b", "c"]`, WithLimits(l)); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

func TestLimitMemoryBudget(t *testing.T) {
	t.Parallel()

	// map() builds a list as long as services: over a memory budget of 10
	// when services may hold 100, refused when compiled, at the call.
	if got := compileErr(t, `len(map(services, .price)) > 0`, Limits{MemoryBudget: 10}); got.Error() !=
		"1:5: map() over up to 100 elements may build lists of 100 elements in all, the memory limit is 10" {
		t.Errorf("map over the budget: %v", got)
	}
	// Within it when services may hold 9 at most: it evaluates over the
	// largest input.
	l := Limits{MemoryBudget: 10, MaxSliceLen: 9, MaxMapLen: 9}
	p, err := Compile[testEnv, bool](`len(map(services, .price)) > 0`, WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(fullEnv(l)); err != nil {
		t.Errorf("9 services: %v", err)
	}

	// Within the cost limit and allocating on every evaluation, whatever
	// the input, past the default budget (100 × (100 + 100 × 10) list
	// elements): the VM would fail every evaluation, so it is refused.
	src := `all(1..100, all(1..100, len([#, #, #, #, #, #, #, #, #, #]) > 0))`
	if got := compileErr(t, src, Limits{}); got.Error() !=
		"1:1: all() over up to 100 elements may build lists of 110100 elements in all, the memory limit is 100000" {
		t.Errorf("nested lists over the budget: %v", got)
	}
	// Literals and ranges count too, outside any predicate.
	if got := compileErr(t, `len(1..9) + len([1, 2]) > 0`, Limits{MemoryBudget: 10}); got.Error() !=
		"1:11: the expression may build lists of 11 elements in all, the memory limit is 10" {
		t.Errorf("literals over the budget: %v", got)
	}
}

func TestLimitInputs(t *testing.T) {
	t.Parallel()

	l := Limits{MaxSliceLen: 2, MaxMapLen: 1, MaxStringLen: 4}
	p, err := Compile[testEnv, bool](`spend_percent > 0`, WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*testEnv)
		want   string
	}{
		{"fits", func(*testEnv) {}, ""},
		{"string", func(e *testEnv) { e.ServiceType = "hosting" }, "input service_type is 7 bytes long, the limit is 4"},
		{"slice", func(e *testEnv) { e.Tags = []string{"a", "b", "c"} }, "input tags has 3 elements, the limit is 2"},
		{"nested string", func(e *testEnv) { e.Services[1].Tags = []string{"ok", "too long"} },
			"input services[1].tags[1] is 8 bytes long, the limit is 4"},
		{"map", func(e *testEnv) { e.Meta["b"] = "x" }, "input meta has 2 entries, the limit is 1"},
		{"map value", func(e *testEnv) { e.Meta["a"] = "large" }, `input meta["a"] is 5 bytes long, the limit is 4`},
		{"map key", func(e *testEnv) { e.Meta = map[string]string{"large": ""} }, "input meta has a key of 5 bytes, the limit is 4"},
		{"struct field", func(e *testEnv) { e.Account.Country = "Germany" }, "input account.country is 7 bytes long, the limit is 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := testEnv{
				ServiceType: "game", Tags: []string{"eu"}, Meta: map[string]string{"a": "b"},
				Services: []testService{{ID: "s1"}, {ID: "s2"}}, Account: testAccount{Country: "DE"},
			}
			tt.modify(&env)
			_, err := p.Eval(env)
			if tt.want == "" {
				if err != nil {
					t.Errorf("Eval: %v", err)
				}
				return
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Eval error = %v, want *Error", err)
			}
			if diff := cmp.Diff(&Error{Msg: tt.want}, perr); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceChecks(t *testing.T) {
	t.Parallel()

	if got := compileErr(t, "spend_percent > 1 && \xff", Limits{}); got.Msg != "the expression is not valid UTF-8" || got.Column != 22 {
		t.Errorf("invalid UTF-8: %v", got)
	}
	if got := compileErr(t, " \n\t ", Limits{}); got.Msg != "the expression is empty" {
		t.Errorf("blank: %v", got)
	}
}
