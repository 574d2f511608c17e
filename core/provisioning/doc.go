// Package provisioning is everything said to a service's provisioner: the
// backend jobs core/services queues (Create, following a backend still
// installing, and the sync that suspends, unsuspends, terminates or
// changes plan), the customer's power actions and SSO logins through the
// provisioner plugin, the free tier (one development sandbox
// per verified account, terminated after a stretch without activity, with
// a warning first), and usage collection (CPU, memory, disk and bandwidth
// pulled from each provisioner into usage_samples).
//
// core/services owns the service record and its status machine and
// decides what a service's backend should be; billing drives it (order,
// suspension for non-payment, termination). This package builds on both
// through their exported API and hooks: the backend jobs' outcomes, recorded
// in core/services (RecordProvisioned, RecordProvisionFailure, FailInstall,
// ActivateInstalled, RecordBackendStep, RecordSyncFailure), billing's
// OnOrder (free-tier admission in the order's transaction), core/services'
// OnStatus (a free-tier slot ends with its service), billing's Terminate
// (inactivity), and the services (core/services' ServicesTx) and add-ons
// (billing's AddonIDsTx) it describes to the provisioner. That description
// is built here, once (views.go: ProvisionerRef, ProvisionerViews), from
// them, the catalog's plans and option declarations and the customer
// (core/accounts). Plugins are called only outside transactions.
//
// docs/provisioning.md is the operator's guide (flow, free-tier rules,
// usage units, decisions).
//
// # Files
//
// provisioning.go: the service, options and jobs. backend.go: the backend
// jobs (Create under an intent record, readiness, sync). views.go: what a
// provisioner is told about a service. power.go: power actions
// and SSO login URLs. freetier.go: free-tier admission, activity and the
// inactivity sweep. usage.go: the usage collector, retention and queries.
package provisioning
