package sdk

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type panelConfig struct {
	APIURL   string        `config:"api_url,required,url" doc:"panel root, e.g. https://panel.example.com"`
	Token    string        `config:"api_token,required,secret" doc:"API token"`
	Timeout  time.Duration `config:"timeout,positive" default:"30s" doc:"per API request"`
	IPv4     int32         `config:"ipv4" default:"1" min:"0" max:"32"`
	Ratio    float64       `config:"ratio" default:"0.5"`
	Policy   string        `config:"tls_policy" default:"mandatory" oneof:"none mandatory"`
	Debug    bool          `config:"debug"`
	Tags     []string      `config:"tags"`
	Region   *string       `config:"region" doc:"nil when not set"`
	Port     *uint16       `config:"port"`
	internal int           //nolint:unused // an unexported field is left out
	Derived  string        `config:"-"`
}

// Validate checks a rule across fields.
func (c panelConfig) Validate() Diagnostics {
	if c.Debug && c.Policy == "none" {
		return FieldDiagnostic("debug", "needs TLS")
	}
	return nil
}

var panelSpec = ConfigOf[panelConfig]()

func TestConfigOfDerivesTheSchema(t *testing.T) {
	t.Parallel()
	got := panelSpec.Schema().Proto()
	want := &pb.ConfigSchema{Fields: []*pb.ConfigField{
		{Name: "api_url", Type: pb.FieldType_FIELD_TYPE_STRING, Required: true, Description: "panel root, e.g. https://panel.example.com"},
		{Name: "api_token", Type: pb.FieldType_FIELD_TYPE_STRING, Required: true, Secret: true, Description: "API token"},
		{Name: "timeout", Type: pb.FieldType_FIELD_TYPE_DURATION, Description: "per API request", Default: mustValue(t, "30s")},
		{Name: "ipv4", Type: pb.FieldType_FIELD_TYPE_INT, Default: mustValue(t, int64(1))},
		{Name: "ratio", Type: pb.FieldType_FIELD_TYPE_NUMBER, Default: mustValue(t, 0.5)},
		{Name: "tls_policy", Type: pb.FieldType_FIELD_TYPE_STRING, Default: mustValue(t, "mandatory"), AllowedValues: []string{"none", "mandatory"}},
		{Name: "debug", Type: pb.FieldType_FIELD_TYPE_BOOL},
		{Name: "tags", Type: pb.FieldType_FIELD_TYPE_STRING_LIST},
		{Name: "region", Type: pb.FieldType_FIELD_TYPE_STRING, Description: "nil when not set"},
		{Name: "port", Type: pb.FieldType_FIELD_TYPE_INT},
	}}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	if err := panelSpec.Schema().check(); err != nil {
		t.Errorf("check: %v", err)
	}
}

func TestConfigSpecDecode(t *testing.T) {
	t.Parallel()
	got, diags := panelSpec.Decode(Config{"api_url": "https://panel.example.com", "api_token": "t", "ipv4": float64(4),
		"tags": []any{"a", "b"}, "port": 8080})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	port := uint16(8080)
	want := panelConfig{internal: 0, APIURL: "https://panel.example.com", Token: "t", Timeout: 30 * time.Second, IPv4: 4, Ratio: 0.5,
		Policy: "mandatory", Tags: []string{"a", "b"}, Port: &port}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(panelConfig{})); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

// TestConfigSpecDecodeRefusesWithPaths: unknown fields, missing required
// fields, wrong types and values outside the tags' limits are refused,
// each naming its field; the struct's own Validate runs last.
func TestConfigSpecDecodeRefusesWithPaths(t *testing.T) {
	t.Parallel()
	base := func(extra Config) Config {
		c := Config{"api_url": "https://p.example.com", "api_token": "t"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string // "field: summary"
	}{
		{"unknown and missing", Config{"api_url": "https://p.example.com", "api_tokn": "t"},
			[]string{"api_tokn: unknown field", "api_token: required field is missing"}},
		{"wrong type", base(Config{"timeout": 30}), []string{`timeout: must be a duration string like "30s", got int`}},
		{"not a URL", base(Config{"api_url": "ftp://p.example.com"}), []string{`api_url: must be an absolute http(s) URL, got "ftp://p.example.com"`}},
		{"not positive", base(Config{"timeout": "0s"}), []string{"timeout: must be positive"}},
		{"out of range", base(Config{"ipv4": 33}), []string{"ipv4: must be from 0 to 32"}},
		{"does not fit", base(Config{"port": 70000}), []string{"port: must be from 0 to 65535"}},
		{"oneof", base(Config{"tls_policy": "maybe"}), []string{`tls_policy: must be one of none, mandatory, got "maybe"`}},
		{"validate", base(Config{"debug": true, "tls_policy": "none"}), []string{"debug: needs TLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, diags := panelSpec.Decode(tc.cfg)
			var got []string
			for _, d := range diags {
				got = append(got, d.Field+": "+d.Summary)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

type untagged struct {
	Name string
}
type secretDefault struct {
	Key string `config:"key,secret" default:"x"`
}
type badDefault struct {
	N int `config:"n" default:"many"`
}
type badType struct {
	M map[string]string `config:"m"`
}
type defaultOutOfRange struct {
	N int `config:"n" default:"50" max:"10"`
}

// TestConfigOfRefusesBrokenDeclarations: Serve refuses to start with a
// typed config whose tags cannot work, naming the struct field.
func TestConfigOfRefusesBrokenDeclarations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ConfigOf[untagged]().Schema().check(), "untagged.Name: the field has no config tag"},
		{ConfigOf[secretDefault]().Schema().check(), "secretDefault.Key: a secret field cannot have a default"},
		{ConfigOf[badDefault]().Schema().check(), `badDefault.N: default "many"`},
		{ConfigOf[badType]().Schema().check(), "badType.M: type map[string]string cannot hold a config value"},
		{ConfigOf[defaultOutOfRange]().Schema().check(), `defaultOutOfRange.N: default "50" must be at most 10`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("got %v, want it to say %q", tc.err, tc.want)
		}
	}
}

func mustValue(t *testing.T, v any) *structpb.Value {
	t.Helper()
	pv, err := ValueToProto(v)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}
