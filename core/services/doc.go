// Package services is the service record: what a customer's service is
// (its account, plan, status, label, the options the customer chose, its
// environment) and what its backend runs (external id, attributes, the
// backend's confirmed state, plan and options), with its status machine
// and suspensions. It owns the services and service_suspensions tables;
// nobody else queries them. How a service is billed (its price, paid
// period, coupon, a change scheduled for the end of its term) is billing's
// (core/billing, service_terms), and billing drives the record through this
// package's calls. It calls no plugin: core/provisioning works the jobs
// queued here and records their outcomes through it.
//
// # Using it from other packages
//
// Build one *Services with New, before billing (billing.Deps.Services).
// The API (stable; additions only):
//
//   - Reads: Service, ServiceTx, ServicesTx, List, Facts and AccountFacts
//     (the one shape other domains read services in; billing adds what
//     they cost), Statuses, AccountOf, ReasonsInForce, SuspendedFor,
//     PlanReach, ServiceReach, LiveServiceCounts, CountLive,
//     CountLiveOnPlan, GameServices, Holdings, ActiveProvisioners,
//     ActiveServicesAfter. IsLive is the one rule for which statuses are
//     live (pending, provisioning, active, suspended) and which have ended.
//   - The status machine, inside the caller's work transaction
//     (core/txwork; billing's): CreateIn (a pending order), SetStatusIn
//     (the one writer of a status; it bumps the wanted-state version and
//     runs the OnStatus hooks), StartProvisioningIn, RestartProvisioningIn,
//     EndIn (terminated or cancelled, suspensions closed, the backend told),
//     UpdateIn (a new plan, add-on options or account: a new wanted state
//     and a sync), AttachPlanIn (a plan the backend already runs).
//   - Suspension by reason (SuspendNonPayment, SuspendBudget, SuspendAdmin,
//     SuspendAbuse or any lower-case name): Suspend / Unsuspend (own
//     transaction; Unsuspend refuses a reason not in force), SuspendTx /
//     UnsuspendTx (inside the caller's bun.Tx), SuspendIn / LiftIn (inside
//     a work transaction), Suspensions. A service is suspended while any
//     reason is in force; each reason is lifted on its own.
//   - The backend's bookkeeping (provision.go, provision_ready.go,
//     sync.go): the job kinds ProvisionJob, ReadyJob and SyncJob that
//     core/provisioning works, NextBackendStep (what the backend must do
//     next), and the outcomes: RecordProvisioned, RecordProvisionFailure,
//     ActivateInstalled, RecordInstallProblem, FailInstall,
//     RecordBackendStep, RecordSyncFailure; QueueOutOfStep, the billing
//     run's safety net.
//   - Reactions, registered while wiring: OnStatus (every status change,
//     in its transaction) and OnProvisioningFailed (a provisioning that
//     failed for good: billing returns the order's payment to credit).
//
// Audit actions keep the names they had when billing owned the record
// (billing.service.*), and so do the job kinds: both are read by
// operators' tooling and by jobs queued before the move.
//
// # Files
//
// model.go: the record, statuses, environments, suspensions. services.go:
// construction, options, hooks. record.go: reads and the changes billing
// makes. status.go: the status machine and suspensions. provision.go,
// provision_ready.go, sync.go: the backend jobs and their outcomes.
// facts.go, reach.go, gameservices.go, holdings.go: what other domains
// read. servicestest: the kit that writes records for other packages'
// tests.
package services
