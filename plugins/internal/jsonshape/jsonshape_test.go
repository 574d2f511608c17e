package jsonshape

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPathsAndMissing(t *testing.T) {
	t.Parallel()

	got, err := Paths([]byte(`{"a":{"b":1,"c":[{"d":2}]},"e":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "a.b", "a.c", "a.c[].d", "e"}, got); diff != "" {
		t.Errorf("Paths (-want +got):\n%s", diff)
	}
	missing, err := Missing([]byte(`{"a":1,"b":{"c":2}}`), []byte(`{"a":1,"b":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"b.c"}, missing); diff != "" {
		t.Errorf("Missing (-want +got):\n%s", diff)
	}
	if _, err := Paths([]byte(`{`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}
