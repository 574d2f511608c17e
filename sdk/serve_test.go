package sdk

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

type stubNotifier struct{}

func (stubNotifier) Describe() Description {
	return Description{Name: "stub", Version: "1.2.3", Schema: NewSchema().String("token", Required(), Secret())}
}
func (stubNotifier) Configure(context.Context, Config) error { return nil }
func (stubNotifier) Health(context.Context) error            { return nil }
func (stubNotifier) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return &pb.DeliverResponse{ProviderMessageId: "x"}, nil
}

func TestDescribeMode(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(stubNotifier{}, []string{"describe"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	got, err := ParseDescription(stdout.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.DescribeResponse{
		Name: "stub", Version: "1.2.3", ProtocolVersion: ProtocolVersion, Sdk: "go/" + sdkVersion,
		Kinds: []pb.PluginKind{pb.PluginKind_PLUGIN_KIND_NOTIFIER},
		ConfigSchema: &pb.ConfigSchema{Fields: []*pb.ConfigField{
			{Name: "token", Type: pb.FieldType_FIELD_TYPE_STRING, Required: true, Secret: true},
		}},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("description (-want +got):\n%s", diff)
	}
}

type noKind struct{}

func (noKind) Describe() Description                   { return Description{Name: "nothing"} }
func (noKind) Configure(context.Context, Config) error { return nil }
func (noKind) Health(context.Context) error            { return nil }

func TestServeRefusesPluginWithoutKind(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(noKind{}, []string{"describe"}, &stdout, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !bytes.Contains(stderr.Bytes(), []byte("implements no plugin kind")) {
		t.Errorf("stderr %q does not say why", stderr.String())
	}
}

func TestWatchParentNoticesNewParent(t *testing.T) {
	t.Parallel()
	gone := make(chan struct{})
	// A ppid that is not ours stands for "the parent died and we were
	// reparented".
	go watchParent(os.Getppid()+1, time.Millisecond, func() { close(gone) })
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("watchParent did not notice the parent change")
	}
}

func TestParseReattachEnv(t *testing.T) {
	t.Parallel()
	got, err := ParseReattachEnv(`{"email":{"protocol":"grpc","protocol_version":1,"network":"unix","addr":"/tmp/x.sock","pid":42}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ReattachConfig{"email": {Protocol: "grpc", ProtocolVersion: 1, Network: "unix", Addr: "/tmp/x.sock", Pid: 42}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	rc, err := got["email"].GoPlugin()
	if err != nil || rc.Addr.String() != "/tmp/x.sock" || rc.Pid != 42 {
		t.Errorf("GoPlugin: %v %v", rc, err)
	}
}
