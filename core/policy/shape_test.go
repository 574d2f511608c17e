package policy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type withMethod struct {
	N int `expr:"n"`
}

func (withMethod) Leak() string { return "secret" }

type stringer string

func (stringer) String() string { return "" }

type (
	envMethod      struct{ withMethod }
	envNamedMethod struct {
		S stringer `expr:"s"`
	}
	envPointer struct {
		P *int `expr:"p"`
	}
	envInterface struct {
		V any `expr:"v"`
	}
	envFunc struct {
		F func() `expr:"f"`
	}
	envChan struct {
		C chan int `expr:"c"`
	}
	envUntagged struct {
		Name string
	}
	envIntKeys struct {
		M map[int]string `expr:"m"`
	}
	envRecursive struct {
		Children []envRecursive `expr:"children"`
	}
	envArray struct {
		A [3]int `expr:"a"`
	}
)

func TestEnvironmentTypeRefused(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		compile func() error
		want    string
	}{
		{"method of an embedded struct", func() error { _, err := Compile[envMethod, bool]("true"); return err },
			"has methods"},
		{"method of a field's type", func() error { _, err := Compile[envNamedMethod, bool]("true"); return err },
			"s: type policy.stringer has methods"},
		{"pointer", func() error { _, err := Compile[envPointer, bool]("true"); return err }, "p: type *int is not plain data"},
		{"interface", func() error { _, err := Compile[envInterface, bool]("true"); return err }, "v: type interface {} is not plain data"},
		{"func", func() error { _, err := Compile[envFunc, bool]("true"); return err }, "f: type func() is not plain data"},
		{"chan", func() error { _, err := Compile[envChan, bool]("true"); return err }, "c: type chan int is not plain data"},
		{"no expr tag", func() error { _, err := Compile[envUntagged, bool]("true"); return err }, "field Name has no expr tag"},
		{"map keys", func() error { _, err := Compile[envIntKeys, bool]("true"); return err }, "m: map keys must be strings"},
		{"recursive", func() error { _, err := Compile[envRecursive, bool]("true"); return err }, "is recursive"},
		{"array", func() error { _, err := Compile[envArray, bool]("true"); return err }, "a: type [3]int is not plain data"},
		{"not a struct", func() error { _, err := Compile[map[string]any, bool]("true"); return err }, "is not a struct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.compile()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compile error = %v, want it to contain %q", err, tt.want)
			}
			if _, isRuleErr := err.(*Error); isRuleErr {
				t.Errorf("a bad environment type is a programming error, not an *Error: %v", err)
			}
		})
	}
}

type embeddedBase struct {
	Country string `expr:"country"`
}

type envEmbedded struct {
	embeddedBase
	Spend int64 `expr:"spend"`
}

func TestEnvironmentEmbeddedAndFields(t *testing.T) {
	t.Parallel()

	p, err := Compile[envEmbedded, bool](`country == "DE" && spend > 1`)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := p.Eval(envEmbedded{embeddedBase: embeddedBase{Country: "DE"}, Spend: 2})
	if err != nil || !ok {
		t.Errorf("Eval = %v, %v; want true", ok, err)
	}
	// The size check reaches the promoted field.
	q, err := Compile[envEmbedded, bool](`true`, WithLimits(Limits{MaxStringLen: 1}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Eval(envEmbedded{embeddedBase: embeddedBase{Country: "DE"}}); err == nil || err.Error() != "input country is 2 bytes long, the limit is 1" {
		t.Errorf("Eval error = %v, want the promoted field over its limit", err)
	}

	sh, err := shapeFor(typeOf[testEnv]())
	if err != nil {
		t.Fatal(err)
	}
	want := []Field{
		{Name: "spend_percent", Type: "int", Doc: "spend as a percentage of the limit"},
		{Name: "spend", Type: "int"},
		{Name: "limit", Type: "int"},
		{Name: "service_type", Type: "string"},
		{Name: "ratio", Type: "float"},
		{Name: "hard_stop", Type: "bool"},
		{Name: "tags", Type: "list of string"},
		{Name: "services", Type: "list of struct"},
		{Name: "services[].id", Type: "string"},
		{Name: "services[].type", Type: "string", Doc: "vps, dedicated, hosting, game or kasm"},
		{Name: "services[].price", Type: "int"},
		{Name: "services[].excluded", Type: "bool"},
		{Name: "services[].tags", Type: "list of string"},
		{Name: "meta", Type: "map of string to string"},
		{Name: "account", Type: "struct"},
		{Name: "account.country", Type: "string"},
		{Name: "account.age_days", Type: "int"},
	}
	if diff := cmp.Diff(want, sh.fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
