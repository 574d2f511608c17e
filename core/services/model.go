package services

import (
	"regexp"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/catalog"
)

// Service statuses.
//
//	pending ──paid──▶ provisioning ──created──▶ active ⇄ suspended
//	   │                   │                      │          │
//	   ▼ (unpaid, voided)  ▼ (retries exhausted)  ▼          ▼
//	cancelled            failed          cancelled / terminated
const (
	StatusPending      = "pending"
	StatusProvisioning = "provisioning"
	StatusActive       = "active"
	StatusSuspended    = "suspended"
	StatusTerminated   = "terminated"
	StatusCancelled    = "cancelled"
	StatusFailed       = "failed"
)

// Service is a customer's hosted thing (a VPS, a game server, …): what it
// is and what its backend runs. How it is billed (its price, paid period,
// coupon) is billing's, in billing's service_terms.
type Service struct {
	bun.BaseModel `bun:"table:services,alias:s"`

	ID        string `bun:"id,pk"`
	AccountID string `bun:"account_id"`
	PlanID    string `bun:"plan_id"`
	Status    string `bun:"status"`
	Label     string `bun:"label"`
	Options   string `bun:"options"` // customer-chosen options, JSON

	// Environment is "production", or "development" for a free-tier
	// service (a sandbox, not for production workloads).
	Environment string `bun:"environment,default:'production'"`

	// The provisioner's view.
	ExternalID    string `bun:"external_id"`
	Attributes    string `bun:"attributes"`
	BackendState  string `bun:"backend_state"`
	BackendPlanID string `bun:"backend_plan_id"`
	StateVersion  int    `bun:"state_version"`
	// OptionsVersion is the generation of the provisioner options (an
	// add-on with options added or removed bumps it); BackendOptionsVersion
	// is the one the provisioner confirmed. The sync job calls ChangePlan
	// while they differ.
	OptionsVersion        int        `bun:"options_version"`
	BackendOptionsVersion int        `bun:"backend_options_version"`
	ProvisionAttempts     int        `bun:"provision_attempts"`
	LastError             string     `bun:"last_error"`
	ActivatedAt           *time.Time `bun:"activated_at"`
	SuspendedAt           *time.Time `bun:"suspended_at"`
	EndedAt               *time.Time `bun:"ended_at"`
	CreatedAt             time.Time  `bun:"created_at"`
	UpdatedAt             time.Time  `bun:"updated_at"`
}

// Service environments.
const (
	EnvProduction  = "production"
	EnvDevelopment = "development"
)

// EnvironmentOf is the environment of a plan's services: free-tier
// services are development sandboxes.
func EnvironmentOf(p *catalog.Plan) string {
	if p.FreeTier {
		return EnvDevelopment
	}
	return EnvProduction
}

// liveStatuses are the statuses of a service that has not ended: it
// still exists at the backend or may. The others (terminated, cancelled,
// failed) are ended. IsLive and the queries that select live services
// read this one list.
var liveStatuses = []string{StatusPending, StatusProvisioning, StatusActive, StatusSuspended}

// IsLive reports whether a service in status has not ended (pending,
// provisioning, active, suspended). An ended service (terminated,
// cancelled, failed) or an unknown status is not live.
func IsLive(status string) bool {
	return slices.Contains(liveStatuses, status)
}

// Live reports whether the service still exists at the backend or may
// (see IsLive).
func (svc *Service) Live() bool {
	return IsLive(svc.Status)
}

// atBackend reports whether the service exists at its backend, or may
// (created, or a Create answered and the backend is installing it): what
// a sync has something to tell.
func (svc *Service) atBackend() bool {
	return svc.ExternalID != "" || svc.BackendState != ""
}

// CustomerOptions are the options the customer chose at order (hostname,
// location, …).
func (svc *Service) CustomerOptions() map[string]string { return decodeOptions(svc.Options) }

// Suspension reasons. A service is suspended while it has at least one
// unlifted suspension; each reason is lifted on its own, so paying lifts a
// non-payment suspension and leaves an admin or budget one in place.
const (
	SuspendNonPayment = "non_payment"
	SuspendBudget     = "budget"
	SuspendAdmin      = "admin"
	SuspendAbuse      = "abuse"
)

var reasonRe = regexp.MustCompile(`^[a-z][a-z_]{1,31}$`)

// Suspension is one reason a service is (or was) suspended.
type Suspension struct {
	bun.BaseModel `bun:"table:service_suspensions"`

	ID        string     `bun:"id,pk"`
	ServiceID string     `bun:"service_id"`
	Reason    string     `bun:"reason"`
	Note      string     `bun:"note"`
	CreatedAt time.Time  `bun:"created_at"`
	LiftedAt  *time.Time `bun:"lifted_at"`
}

// Filter selects services for a listing.
type Filter struct {
	AccountID string
	Status    string
	// Among, when set, keeps the services it lists (or, Exclude, all but
	// those): a project's, say.
	Among *Set
	After string // id of the last service of the previous page
	Limit int
}

// Set is a set of service ids for Filter.Among.
type Set struct {
	IDs     []string
	Exclude bool
}
