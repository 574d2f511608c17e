package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRegister(t *testing.T) {
	t.Parallel()

	k := Register[testEnv, bool]("test_register", "decides things in tests", WithLimits(Limits{MaxCost: 5000}))
	info, ok := Lookup("test_register")
	if !ok {
		t.Fatal("Lookup: kind not found")
	}
	if diff := cmp.Diff(k.Info(), info, cmpopts.IgnoreUnexported(Kind{})); diff != "" {
		t.Errorf("Lookup (-want +got):\n%s", diff)
	}
	if info.Env != "policy.testEnv" || info.Result != "bool" || info.Limits.MaxCost != 5000 || info.Limits.MaxNodes != DefaultLimits().MaxNodes {
		t.Errorf("Info = %+v", info)
	}
	if len(info.Fields) == 0 || info.Fields[0].Name != "spend_percent" {
		t.Errorf("Fields = %v, want the environment's fields", info.Fields)
	}

	p, err := k.Compile(`spend_percent > 50`)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := p.Eval(sampleEnv()); err != nil || !ok {
		t.Errorf("Eval = %v, %v", ok, err)
	}
	// The kind's limits apply.
	_, err = k.Compile(`any(services, any(.tags, # == service_type))`)
	var perr *Error
	if !errors.As(err, &perr) || !strings.Contains(perr.Msg, "the limit is 5000") {
		t.Errorf("Compile over the kind's cost limit: %v", err)
	}
	// Check works from the name alone.
	if err := info.Check(`spend_percent >`); err == nil {
		t.Error("Check accepted a syntax error")
	}
	if err := info.Check(`hard_stop`); err != nil {
		t.Errorf("Check: %v", err)
	}

	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Name)
	}
	if !strings.Contains(strings.Join(names, ","), "test_register") {
		t.Errorf("Kinds() = %v, want test_register among them", names)
	}
}

func TestRegisterRefuses(t *testing.T) {
	t.Parallel()

	Register[testEnv, bool]("test_duplicate", "")
	tests := []struct {
		name     string
		register func()
		want     string
	}{
		{"duplicate", func() { Register[testEnv, int]("test_duplicate", "") }, `kind "test_duplicate" is registered twice`},
		{"bad name", func() { Register[testEnv, bool]("Bad-Name", "") }, "not lower_snake_case"},
		{"bad environment", func() { Register[envPointer, bool]("test_bad_env", "") }, "is not plain data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(toString(r), tt.want) {
					t.Errorf("panic = %v, want one containing %q", r, tt.want)
				}
			}()
			tt.register()
		})
	}
}

func toString(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	s, _ := v.(string)
	return s
}
