// Package intent is the core's durable record of the actions it asks
// backends to take through provisioner plugins: intent before action,
// outcome after, and no blind repeat.
//
// A caller (the scheduler executing task runs, billing creating a paid
// service) records, in a transaction it commits before calling the plugin,
// that the action with idempotency key K was started (Begin). After the
// call it records the outcome (Finish), in the transaction that records
// what the outcome means for its own rows, retrying that write with
// backoff inside the job's budget (RecordWithRetry); a failed write never
// makes the call again. A later execution that finds K started without an
// outcome — the replica died mid-call, the database went away before the
// outcome was written, the call ended without an answer — does not call
// again blindly: the policy of K's action type decides (Reconcile):
//
//   - Reconcile: ask the backend whether the action happened (a power state
//     and when it last changed through GetInfo, a backup or snapshot named
//     by its key through ListBackups). Done records the outcome; Again (the
//     backend shows it did not happen) lets the caller start it again with
//     the same key; a backend that cannot tell makes the outcome unknown.
//   - Safe: the action may be repeated with the same key (Create: the
//     provisioner finds the service's server at the backend by the service
//     id before creating one).
//   - Never: the outcome is unknown (a script, an action: nothing at the
//     backend tells whether it ran); the caller records that and tells the
//     customer, and never runs it twice.
//
// The table of policies (Policies) is the one place that declares which
// action types are safe to repeat; an action missing from it is Never.
//
// The package owns the intents table; no other package reads or writes it.
// The plugins' own idempotency (the SDK's helper keeps outcomes in the
// plugin's data directory) covers a plugin restart on one replica; this
// record covers the core across replicas, where each replica runs its own
// plugin processes with their own memory.
package intent
