// Package provisioning is everything said to a service's provisioner: the
// backend jobs billing queues (Create, following a backend still
// installing, and the sync that suspends, unsuspends, terminates or
// changes plan), the customer's power actions and SSO logins through the
// provisioner plugin, the free tier (one development sandbox
// per verified account, terminated after a stretch without activity, with
// a warning first), and usage collection (CPU, memory, disk and bandwidth
// pulled from each provisioner into usage_samples).
//
// Billing owns services and their lifecycle (order, suspension,
// termination) and decides what a service's backend should be; this
// package builds on it through its exported API and hooks: the backend
// jobs' outcomes (RecordProvisioned, RecordProvisionFailure, FailInstall,
// ActivateInstalled, RecordBackendStep, RecordSyncFailure), OnOrder
// (free-tier admission in the order's transaction), OnServiceStatus (a
// free-tier slot ends with its service), Terminate (inactivity), and the
// services and add-ons it describes to the provisioner (ServicesTx,
// AddonIDsTx). That description is built here, once (views.go:
// ProvisionerRef, ProvisionerViews), from them, the catalog's plans and
// option declarations and the customer (core/accounts). Plugins are
// called only outside transactions.
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
