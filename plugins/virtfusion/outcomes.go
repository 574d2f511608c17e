package main

import (
	"github.com/ezscale/platform/sdk"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// The outcomes of the calls that act, recorded per idempotency key in the
// plugin's data directory, so a call repeated after the plugin restarted
// answers what the first did without acting again. Each call also finds
// what an earlier attempt made at the backend before acting (by the
// service's name there), for when no record exists. A new password is
// remembered in memory only: it never goes to disk, and setting another
// after a restart is harmless.
var (
	outcomesCreate        = sdk.NewOutcomes[*pb.CreateResponse]("create")
	outcomesChangePlan    = sdk.NewOutcomes[*pb.ChangePlanResponse]("change_plan")
	outcomesResetPassword = sdk.NewOutcomes[*pb.ResetPasswordResponse]("reset_password", sdk.RememberInMemory())
	outcomesPower         = sdk.NewOutcomes[*pb.PowerResponse]("power")
	outcomesAction        = sdk.NewOutcomes[*pb.InvokeActionResponse]("action")
)
