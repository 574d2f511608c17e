package sdk

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// provBase has every Provisioner method but GetInfo; the types below add a
// right, misspelt or wrongly typed GetInfo, or optional methods.
type provBase struct{}

func (provBase) Describe() Description                   { return Description{Name: "p", Version: "1"} }
func (provBase) Configure(context.Context, Config) error { return nil }
func (provBase) Health(context.Context) error            { return nil }
func (provBase) Validate(context.Context, *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	return &pb.ValidateResponse{}, nil
}
func (provBase) TestConnection(context.Context, *pb.TestConnectionRequest) (*pb.TestConnectionResponse, error) {
	return &pb.TestConnectionResponse{}, nil
}
func (provBase) Create(context.Context, *pb.CreateRequest) (*pb.CreateResponse, error) {
	return &pb.CreateResponse{}, nil
}
func (provBase) Suspend(context.Context, *pb.SuspendRequest) (*pb.SuspendResponse, error) {
	return &pb.SuspendResponse{}, nil
}
func (provBase) Unsuspend(context.Context, *pb.UnsuspendRequest) (*pb.UnsuspendResponse, error) {
	return &pb.UnsuspendResponse{}, nil
}
func (provBase) Terminate(context.Context, *pb.TerminateRequest) (*pb.TerminateResponse, error) {
	return &pb.TerminateResponse{}, nil
}
func (provBase) HealthCheck(context.Context, *pb.HealthCheckRequest) (*pb.HealthCheckResponse, error) {
	return &pb.HealthCheckResponse{}, nil
}

type misspeltProv struct{ provBase }

func (misspeltProv) Getinfo(context.Context, *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	return &pb.GetInfoResponse{}, nil
}

type goodProv struct{ provBase }

func (goodProv) GetInfo(context.Context, *pb.GetInfoRequest) (*pb.GetInfoResponse, error) {
	return &pb.GetInfoResponse{}, nil
}

// wrongPower means to be a PowerController but returns only an error.
type wrongPower struct{ goodProv }

func (wrongPower) Power(context.Context, *pb.PowerRequest) error { return nil }

// caseLogin spells LoginURL the Go way it is not spelt.
type caseLogin struct{ goodProv }

func (caseLogin) LoginUrl(context.Context, *pb.LoginURLRequest) (*pb.LoginURLResponse, error) {
	return &pb.LoginURLResponse{}, nil
}

// halfBackup has Backup but not ListBackups.
type halfBackup struct{ goodProv }

func (halfBackup) Backup(context.Context, *pb.BackupRequest) (*pb.BackupResponse, error) {
	return &pb.BackupResponse{}, nil
}

// listsPower lists a capability by hand without implementing it.
type listsPower struct{ goodProv }

func (listsPower) Describe() Description {
	return Description{Name: "p", Version: "1", Capabilities: []Capability{CapPower}}
}

// listsRenew lists a capability it does implement: redundant, accepted.
type listsRenew struct{ goodProv }

func (listsRenew) Describe() Description {
	return Description{Name: "p", Version: "1", Capabilities: []Capability{CapRenew}}
}
func (listsRenew) Renew(context.Context, *pb.RenewRequest) (*pb.RenewResponse, error) {
	return &pb.RenewResponse{}, nil
}

// ptrOnly implements Notifier with a pointer receiver only.
type ptrOnly struct{}

func (ptrOnly) Describe() Description                   { return Description{Name: "p", Version: "1"} }
func (ptrOnly) Configure(context.Context, Config) error { return nil }
func (ptrOnly) Health(context.Context) error            { return nil }
func (*ptrOnly) Deliver(context.Context, *pb.DeliverRequest) (*pb.DeliverResponse, error) {
	return &pb.DeliverResponse{}, nil
}

// TestServeNamesWhatAPluginFailsToImplement: Serve refuses, at start, a
// plugin that nearly implements a kind (naming the missing method), an
// optional method with a wrong signature or spelling (instead of silently
// dropping the capability), and a capability listed by hand but not
// implemented (naming the interface).
func TestServeNamesWhatAPluginFailsToImplement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		plugin Plugin
		want   []string // substrings of the error; none means accepted
	}{
		{"misspelt required method", misspeltProv{}, []string{
			"implements no plugin kind",
			"implements Provisioner except GetInfo(ctx, *GetInfoRequest) (*GetInfoResponse, error) (it has Getinfo(ctx, *GetInfoRequest) (*GetInfoResponse, error): check the spelling)",
		}},
		{"optional method with a wrong signature", wrongPower{}, []string{
			"does not implement PowerController (capability provisioner.power): it lacks Power(ctx, *PowerRequest) (*PowerResponse, error) (it has Power(ctx, *PowerRequest) error)",
		}},
		{"optional method in the wrong case", caseLogin{}, []string{"LoginURL(ctx, *LoginURLRequest) (*LoginURLResponse, error) (it has LoginUrl"}},
		{"half of a two-method capability", halfBackup{}, []string{"does not implement BackupManager (capability provisioner.backup): it lacks ListBackups("}},
		{"capability listed but not implemented", listsPower{}, []string{
			"Description.Capabilities lists provisioner.power, but sdk.listsPower does not implement sdk.PowerController (lacks Power(ctx, *PowerRequest) (*PowerResponse, error))",
		}},
		{"value whose methods have pointer receivers", ptrOnly{}, []string{"implements no plugin kind", "pass a pointer to Serve"}},
		{"complete provisioner", goodProv{}, nil},
		{"capability listed and implemented", listsRenew{}, nil},
		{"pointer notifier", &ptrOnly{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := newServer(tc.plugin, nil)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted; want a refusal")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
		})
	}
}

func TestListedCapabilityIsDescribedOnce(t *testing.T) {
	t.Parallel()
	s, err := newServer(listsRenew{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.desc.GetCapabilities(); len(got) != 1 || got[0] != string(CapRenew) {
		t.Errorf("capabilities %v, want [%s]", got, CapRenew)
	}
}

// plainMonitor is a monitor without player history.
type plainMonitor struct{}

func (plainMonitor) Describe() Description                   { return Description{Name: "m", Version: "1"} }
func (plainMonitor) Configure(context.Context, Config) error { return nil }
func (plainMonitor) Health(context.Context) error            { return nil }
func (plainMonitor) GetServerStats(context.Context, *pb.GetServerStatsRequest) (*pb.GetServerStatsResponse, error) {
	return &pb.GetServerStatsResponse{}, nil
}

// historyMonitor also reports player history.
type historyMonitor struct{ plainMonitor }

func (historyMonitor) GetPlayerHistory(context.Context, *pb.GetPlayerHistoryRequest) (*pb.GetPlayerHistoryResponse, error) {
	return &pb.GetPlayerHistoryResponse{}, nil
}

// TestMonitorPlayerHistoryCapabilityIsDerived: a monitor that implements
// PlayerHistoryReporter describes monitor.player_history; one that does
// not describes no capability and answers the call NotSupported.
func TestMonitorPlayerHistoryCapabilityIsDerived(t *testing.T) {
	t.Parallel()
	s, err := newServer(historyMonitor{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{string(CapPlayerHistory)}, s.desc.GetCapabilities()); diff != "" {
		t.Errorf("capabilities (-want +got):\n%s", diff)
	}
	s, err = newServer(plainMonitor{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.desc.GetCapabilities(); len(got) != 0 {
		t.Errorf("capabilities %v, want none", got)
	}
	_, err = (&monitorServer{Monitor: plainMonitor{}}).GetPlayerHistory(context.Background(), &pb.GetPlayerHistoryRequest{})
	if KindOf(err) != NotSupported {
		t.Errorf("GetPlayerHistory of a plain monitor: %v, want NotSupported", err)
	}
}
