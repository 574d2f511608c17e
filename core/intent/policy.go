package intent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Action is the type of a backend action.
type Action string

// Action types the core starts.
const (
	PowerBoot     Action = "power_boot"
	PowerShutdown Action = "power_shutdown"
	PowerRestart  Action = "power_restart"
	Snapshot      Action = "snapshot"
	Backup        Action = "backup"
	RunScript     Action = "run_script"
	InvokeAction  Action = "invoke_action"
	Create        Action = "create"
)

// PowerAction is the action type of a power call.
func PowerAction(a pb.PowerAction) Action {
	switch a {
	case pb.PowerAction_POWER_ACTION_BOOT:
		return PowerBoot
	case pb.PowerAction_POWER_ACTION_SHUTDOWN:
		return PowerShutdown
	}
	return PowerRestart
}

// Repeat says what may be done about an action started without a recorded
// outcome.
type Repeat int

const (
	// Never: nothing tells whether it happened; the outcome is unknown.
	Never Repeat = iota
	// Check: the backend is asked whether it happened.
	Check
	// Safe: repeating it with the same key acts at most once.
	Safe
)

func (r Repeat) String() string {
	switch r {
	case Check:
		return "reconcile"
	case Safe:
		return "repeat"
	}
	return "never"
}

// Guarantee is what the core promises for an action type across replica
// crashes and database outages.
type Guarantee string

const (
	// ExactlyOnce: the action happens once (a retry finds out whether it
	// did, or repeating it is safe).
	ExactlyOnce Guarantee = "exactly-once"
	// AtMostOnce: the action happens once or, when a crash leaves it in
	// doubt, its outcome is recorded unknown and it is not repeated.
	AtMostOnce Guarantee = "at-most-once"
)

// Policy is one action type's row of the table.
type Policy struct {
	Action Action
	Repeat Repeat
	// Guarantee holds when the plugin reports what Check asks for; a
	// backend that cannot tell makes a Check action at-most-once.
	Guarantee Guarantee
	// How says how a started action is settled, for the docs and for the
	// detail recorded on it.
	How   string
	check checkFunc
}

// checkFunc asks the backend whether the intent's action happened.
type checkFunc func(ctx context.Context, prov sdk.ProvisionerClient, ref *pb.ServiceRef, in *Intent) (Verdict, string, error)

// Policies is the one table of what the core may do with an action it
// started and whose outcome it does not know. An action type that is not
// here is Never.
var Policies = []Policy{
	{PowerBoot, Check, ExactlyOnce, "GetInfo: the server's power_state is running", checkPowerState("running")},
	{PowerShutdown, Check, ExactlyOnce, "GetInfo: the server's power_state is stopped", checkPowerState("stopped")},
	{PowerRestart, Check, ExactlyOnce, "GetInfo: the server's power_changed_at is after the action was recorded", checkRestarted},
	{Snapshot, Check, ExactlyOnce, "ListBackups: a snapshot whose name carries the key", checkNamed("snapshot")},
	{Backup, Check, ExactlyOnce, "ListBackups: a backup whose name carries the key", checkNamed("backup")},
	{RunScript, Never, AtMostOnce, "none: nothing at the backend tells whether a script ran", nil},
	{InvokeAction, Never, AtMostOnce, "none: an action's effect is the plugin's own", nil},
	{Create, Safe, ExactlyOnce, "repeated with the same key: the provisioner finds the service's server by the service id before creating one", nil},
}

// PolicyOf returns the action type's policy (Never when it has none).
func PolicyOf(a Action) Policy {
	for _, p := range Policies {
		if p.Action == a {
			return p
		}
	}
	return Policy{Action: a, Repeat: Never, Guarantee: AtMostOnce, How: "none: not in the policy table"}
}

// Attributes a provisioner may report in ServiceStatus.attributes (GetInfo)
// so that an interrupted power action can be settled: the server's power
// state ("running" or "stopped") and when it last changed (RFC 3339; a
// restart changes it). A plugin that does not report them leaves
// interrupted power actions unknown.
const (
	AttrPowerState     = "power_state"
	AttrPowerChangedAt = "power_changed_at"
)

// Verdict is what the backend says about a started action.
type Verdict int

const (
	// Done: it happened.
	Done Verdict = iota + 1
	// Again: it did not happen, or repeating it is safe: start it again
	// with the same key.
	Again
	// CannotTell: nobody can tell; record the outcome unknown.
	CannotTell
)

// Reconcile settles an action started without a recorded outcome by its
// policy: Check asks the backend; Safe answers Again; Never answers
// CannotTell. An error means the backend could not be asked now (try later);
// detail says what was found.
func Reconcile(ctx context.Context, prov sdk.ProvisionerClient, ref *pb.ServiceRef, in *Intent) (Verdict, string, error) {
	p := PolicyOf(in.Action)
	switch p.Repeat {
	case Safe:
		return Again, "repeated with the same key (" + p.How + ")", nil
	case Check:
		if p.check == nil || prov == nil {
			break
		}
		v, detail, err := p.check(ctx, prov, ref, in)
		if err != nil {
			if k := sdk.KindOf(err); k == sdk.NotSupported {
				return CannotTell, "the backend cannot tell: " + err.Error(), nil
			}
			return 0, "", fmt.Errorf("intent: reconciling %s %s: %w", in.Action, in.Key, err)
		}
		return v, detail, nil
	}
	return CannotTell, "the call was interrupted and nothing at the backend tells whether it happened; it was not repeated", nil
}

func checkPowerState(want string) checkFunc {
	return func(ctx context.Context, prov sdk.ProvisionerClient, ref *pb.ServiceRef, _ *Intent) (Verdict, string, error) {
		resp, err := prov.GetInfo(ctx, &pb.GetInfoRequest{Service: ref})
		if err != nil {
			return 0, "", err
		}
		state := resp.GetStatus().GetAttributes()[AttrPowerState]
		switch state {
		case want:
			return Done, "reconciled: the backend reports the server " + state, nil
		case "":
			return CannotTell, "the backend does not report the power state; the action was not repeated", nil
		}
		return CannotTell, "the backend reports the server " + state + "; the action may still be under way, so it was not repeated", nil
	}
}

func checkRestarted(ctx context.Context, prov sdk.ProvisionerClient, ref *pb.ServiceRef, in *Intent) (Verdict, string, error) {
	resp, err := prov.GetInfo(ctx, &pb.GetInfoRequest{Service: ref})
	if err != nil {
		return 0, "", err
	}
	raw := resp.GetStatus().GetAttributes()[AttrPowerChangedAt]
	if raw == "" {
		return CannotTell, "the backend does not report when the server last started; the restart was not repeated", nil
	}
	at, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return CannotTell, fmt.Sprintf("the backend reports an unreadable power_changed_at %q; the restart was not repeated", raw), nil
	}
	if !at.Before(in.StartedAt) {
		return Done, "reconciled: the backend reports the server started at " + at.UTC().Format(time.RFC3339), nil
	}
	return CannotTell, "the backend reports no restart since the action was recorded; it may still be queued, so it was not repeated", nil
}

func checkNamed(kind string) checkFunc {
	return func(ctx context.Context, prov sdk.ProvisionerClient, ref *pb.ServiceRef, in *Intent) (Verdict, string, error) {
		resp, err := prov.ListBackups(ctx, &pb.ListBackupsRequest{Service: ref})
		if err != nil {
			return 0, "", err
		}
		mark := keyMark(in.Key)
		for _, b := range resp.GetBackups() {
			if strings.Contains(b.GetName(), mark) {
				return Done, fmt.Sprintf("reconciled: the backend has %s %s %q (%s)", kind, b.GetId(), b.GetName(), b.GetStatus()), nil
			}
		}
		return Again, "reconciled: the backend has no " + kind + " named by the key; it is made again with the same key", nil
	}
}

// Name is the name to give a backend object (a backup, a snapshot) made
// by the action with key: prefix and the key, so that Reconcile finds it.
func Name(prefix, key string) string { return prefix + "-" + keyMark(key) }

// keyMark is the key as it appears in names (no slashes).
func keyMark(key string) string { return strings.ReplaceAll(key, "/", "-") }
