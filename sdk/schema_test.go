package sdk

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
)

func testSchema() *Schema {
	return NewSchema().
		String("host", Required(), Doc("SMTP host")).
		Int("port", Default(587)).
		String("password", Secret()).
		String("tls_policy", OneOf("none", "mandatory"), Default("mandatory")).
		Duration("timeout", Default("30s")).
		Bool("debug").
		Number("ratio").
		StringList("tags")
}

func TestSchemaApply(t *testing.T) {
	t.Parallel()
	s := testSchema()
	cfg, diags := s.Apply(map[string]any{
		"host":  "mail.example.com",
		"port":  float64(25), // as decoded from a protobuf Struct
		"debug": true,
		"tags":  []any{"a", "b"},
		"ratio": 1,
	})
	if diags.HasErrors() {
		t.Fatalf("Apply: %v", diags)
	}
	want := Config{
		"host": "mail.example.com", "port": int64(25), "tls_policy": "mandatory",
		"timeout": 30 * time.Second, "debug": true, "tags": []string{"a", "b"}, "ratio": 1.0,
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if cfg.Duration("timeout") != 30*time.Second || cfg.Int("port") != 25 || cfg.String("host") != "mail.example.com" {
		t.Errorf("getters disagree with the map: %v", cfg)
	}
}

func TestSchemaApplyNamesFields(t *testing.T) {
	t.Parallel()
	_, diags := testSchema().Apply(map[string]any{
		"port":       "587",
		"tls_policy": "sometimes",
		"timeout":    "soon",
		"tags":       []any{"a", 1},
		"hots":       "typo",
		"port2":      1.5,
	})
	var got []string
	for _, d := range diags {
		got = append(got, d.Field+": "+d.Summary)
	}
	want := []string{
		"hots: unknown field",
		"port2: unknown field",
		"host: required field is missing",
		"port: must be an integer, got string",
		"tls_policy: must be one of none, mandatory, got \"sometimes\"",
		"timeout: must be a duration like \"30s\", got \"soon\"",
		"tags: element 1 must be a string, got int",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diagnostics (-want +got):\n%s", diff)
	}
}

func TestSchemaProtoRoundTrip(t *testing.T) {
	t.Parallel()
	s := testSchema()
	back := SchemaFromProto(s.Proto())
	if diff := cmp.Diff(s.Proto(), back.Proto(), protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	f, _ := back.Field("password")
	if !f.Secret {
		t.Error("secret flag lost over the wire")
	}
}

func TestSchemaCheck(t *testing.T) {
	t.Parallel()
	if err := NewSchema().String("a").String("a").check(); err == nil {
		t.Error("duplicate field accepted")
	}
	if err := NewSchema().Int("a", Default("x")).check(); err == nil {
		t.Error("default of the wrong type accepted")
	}
}
