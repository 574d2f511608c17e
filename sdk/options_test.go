package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

var testOptions = Options{
	IntOption("package_id", "package").OnPlan().AtLeast(1),
	IntOption("ipv4", "IPv4 addresses").OnPlan().Range(0, 16).WithDefault("1"),
	IntOption("swap", "swap in MiB, -1 unlimited").OnPlan().Range(-1, 1<<20),
	StringOption("hostname", "hostname").AtOrder().MaxLen(253).Matching(`[a-z0-9]([a-z0-9.-]*[a-z0-9])?`),
	EnumOption("location", "where", "fra", "nyc").OnPlan().AtOrder(),
	BoolOption("backups", "nightly backups").OnPlan(),
	PrefixOption("env.", "egg variable").OnPlan().MaxLen(100),
	StringOption("licence", "licence key").OnPlan().MarkSensitive(),
}

func TestOptionsValidateAcceptsAGoodDeclaration(t *testing.T) {
	t.Parallel()
	if err := testOptions.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestOptionsValidateRefusesBrokenDeclarations(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		opts Options
		want string
	}{
		"bad key":            {Options{IntOption("Package", "").OnPlan()}, "keys are"},
		"twice":              {Options{IntOption("a", "").OnPlan(), IntOption("a", "").OnPlan()}, "declared twice"},
		"nobody sets it":     {Options{IntOption("a", "")}, "nobody may set it"},
		"range on a string":  {Options{StringOption("a", "").OnPlan().Range(1, 2)}, "only integer options have a range"},
		"min above max":      {Options{IntOption("a", "").OnPlan().Range(5, 1)}, "above max"},
		"bad pattern":        {Options{StringOption("a", "").OnPlan().Matching("(")}, "pattern"},
		"empty enum":         {Options{EnumOption("a", "").OnPlan()}, "allowed values"},
		"default outside":    {Options{IntOption("a", "").OnPlan().Range(0, 3).WithDefault("9")}, "default"},
		"prefix without dot": {Options{{Key: "env", Type: OptionString, Prefix: true, Plan: true}}, "ends with '.'"},
		"unknown type":       {Options{{Key: "a", Plan: true}}, "unknown type"},
	} {
		err := tc.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate() = %v, want an error containing %q", name, err, tc.want)
		}
	}
}

func TestOptionCheckEnforcesTypeAndLimits(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, c := range []struct{ key, value string }{
		{"package_id", "3"}, {"package_id", "0"}, {"package_id", "x"},
		{"ipv4", "16"}, {"ipv4", "17"}, {"swap", "-1"}, {"swap", "-2"},
		{"hostname", "web1.example.com"}, {"hostname", "-bad"}, {"hostname", strings.Repeat("a", 254)}, {"hostname", "a\nb"},
		{"location", "fra"}, {"location", "mars"}, {"backups", "yes"}, {"env.SERVER_JARFILE", "server.jar"},
		{"package_id", ""},
	} {
		o, ok := testOptions.Lookup(c.key)
		if !ok {
			t.Fatalf("Lookup(%q): not found", c.key)
		}
		msg := "ok"
		if err := o.Check(c.value); err != nil {
			msg = err.Error()
		}
		got[c.key+"="+c.value] = msg
	}
	want := map[string]string{
		"package_id=3": "ok", "package_id=0": "must be at least 1", "package_id=x": "must be an integer", "package_id=": "ok",
		"ipv4=16": "ok", "ipv4=17": "must be from 0 to 16", "swap=-1": "ok", "swap=-2": "must be from -1 to 1048576",
		"hostname=web1.example.com": "ok", "hostname=-bad": "must match [a-z0-9]([a-z0-9.-]*[a-z0-9])?",
		"hostname=" + strings.Repeat("a", 254): "must be at most 253 bytes", "hostname=a\nb": "must be UTF-8 text without control characters",
		"location=fra": "ok", "location=mars": "must be one of fra, nyc", "backups=yes": `must be "true" or "false"`,
		"env.SERVER_JARFILE=server.jar": "ok",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}

func TestOptionsLookupMatchesPrefixFamilies(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]bool{
		"env.SERVER_JARFILE": true, "env.": false, "env.A-B": false, "env.a.b": false, "docker_image": false, "hostname": true,
	} {
		if _, ok := testOptions.Lookup(key); ok != want {
			t.Errorf("Lookup(%q) found = %t, want %t", key, ok, want)
		}
	}
}

func TestOptionsProtoRoundTrip(t *testing.T) {
	t.Parallel()
	if diff := cmp.Diff(testOptions, OptionsFromProto(testOptions.Proto())); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	b, err := json.Marshal(testOptions)
	if err != nil {
		t.Fatal(err)
	}
	var back Options
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testOptions, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

func TestOptionsParseGivesTypedValues(t *testing.T) {
	t.Parallel()
	vals, err := testOptions.Parse(map[string]string{
		"package_id": "7", "swap": "-1", "hostname": "web1", "backups": "true", "env.SERVER_JARFILE": "server.jar",
		"docker_image": "ignored: not declared", "location": "",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"package_id": vals.Int("package_id", 0), "ipv4 (declared default)": vals.Int("ipv4", 5), "swap": vals.Int("swap", 0),
		"hostname": vals.String("hostname", ""), "location (empty = unset)": vals.String("location", "nyc"),
		"backups": vals.Bool("backups", false), "env": vals.WithPrefix("env."), "has ipv4": vals.Has("ipv4"),
	}
	want := map[string]any{
		"package_id": int64(7), "ipv4 (declared default)": int64(1), "swap": int64(-1), "hostname": "web1",
		"location (empty = unset)": "nyc", "backups": true, "env": map[string]string{"SERVER_JARFILE": "server.jar"}, "has ipv4": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestOptionsParseRefusesABadValueNamingIt(t *testing.T) {
	t.Parallel()
	_, err := testOptions.Parse(map[string]string{"ipv4": "16", "swap": "-5"})
	var e *Error
	if !errors.As(err, &e) || e.Kind != InvalidInput || e.Field != "plan_options.swap" {
		t.Fatalf("Parse: %v, want InvalidInput naming plan_options.swap", err)
	}
}

func TestOptionValuesPanicsOnAnUndeclaredKey(t *testing.T) {
	t.Parallel()
	vals, err := testOptions.Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("reading an undeclared key did not panic")
		}
	}()
	vals.String("docker_image", "")
}

// optionsProvisioner is a provisioner that only describes itself.
type optionsProvisioner struct{ opts Options }

func (optionsProvisioner) Configure(context.Context, Config) error { return nil }
func (optionsProvisioner) Health(context.Context) error            { return nil }
func (optionsProvisioner) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return nil, nil
}
func (optionsProvisioner) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return nil, nil
}
func (optionsProvisioner) Create(context.Context, *pb.CreateRequest) (*pb.CreateResponse, error) {
	return nil, nil
}
func (optionsProvisioner) Suspend(context.Context, *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	return nil, nil
}
func (optionsProvisioner) Unsuspend(context.Context, *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	return nil, nil
}
func (optionsProvisioner) Terminate(context.Context, *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	return nil, nil
}
func (optionsProvisioner) GetInfo(context.Context, *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	return nil, nil
}
func (optionsProvisioner) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return nil, nil
}

func (p optionsProvisioner) Describe() Description {
	return Description{Name: "prov", Version: "1.0.0", Options: p.opts}
}

func TestServeDescribesOptionsAndRefusesBrokenOnes(t *testing.T) {
	t.Parallel()
	s, err := newServer(optionsProvisioner{opts: testOptions}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testOptions, OptionsFromProto(s.desc.GetOptions())); diff != "" {
		t.Errorf("described options (-want +got):\n%s", diff)
	}
	if _, err := newServer(optionsProvisioner{opts: Options{IntOption("a", "")}}, nil); err == nil || !strings.Contains(err.Error(), "nobody may set it") {
		t.Errorf("newServer with a broken declaration: %v", err)
	}
	if _, err := newServer(optionsNotifier{}, nil); err == nil || !strings.Contains(err.Error(), "only provisioners") {
		t.Errorf("newServer of a notifier declaring options: %v", err)
	}
}

type optionsNotifier struct{ stubNotifier }

func (optionsNotifier) Describe() Description {
	return Description{Name: "n", Version: "1.0.0", Options: Options{IntOption("a", "").OnPlan()}}
}

func TestOptionsParseLeavesSensitiveValuesOutOfErrors(t *testing.T) {
	t.Parallel()
	opts := Options{StringOption("licence", "licence key").OnPlan().MaxLen(8).MarkSensitive()}
	_, err := opts.Parse(map[string]string{"licence": "SECRET-LICENCE-KEY"})
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Parse of a bad sensitive value: %v, want an error without the value", err)
	}
}
