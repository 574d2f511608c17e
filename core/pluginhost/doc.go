// Package pluginhost starts, supervises and calls the core's plugins.
//
// Each plugin is an executable speaking the protocol of package
// github.com/ezscale/platform/sdk over hashicorp/go-plugin (gRPC, AutoMTLS).
// go-plugin only starts processes and connects to them; this package adds
// what a billing system needs around that:
//
//   - Start: the sha256 pin is checked before exec; the handshake must match
//     (magic cookie, protocol version 1, nothing on stdout before it); the
//     config is validated against the schema the plugin describes and by the
//     plugin, then Configure is called. Refusals name the cause, and config
//     errors name the field and its position in the config file.
//   - Calls: every call has a deadline (Options.CallTimeout, shorter for
//     health). A call that overruns the host's deadline means the plugin is
//     wedged: it is killed and restarted. Lifecycle calls (those carrying an
//     idempotency key) are never retried by the host; a few read-only calls
//     are retried once after a restart.
//   - Supervision: a crashed plugin is restarted with exponential backoff
//     (1s doubling to 2m); 3 crashes within 10 minutes open the breaker
//     (state failed) until an admin calls Restart. Health rounds run at
//     start and every HealthInterval: the plugin's Health and, for a
//     provisioner, the backend's HealthCheck. A plugin that does not answer
//     is killed and restarted; a failing answer only makes it unhealthy
//     (Info.Health, metrics), never a restart loop. Stop kills every
//     plugin; a plugin whose core dies exits by itself (the SDK watches its
//     parent).
//   - Observability: plugin stderr logs appear in the core's log under the
//     plugin's name; per-plugin Prometheus metrics count calls, errors,
//     latency and restarts; List reports state for the admin API.
//   - Operator tools: Check vets an executable (`ezscale plugins check`),
//     CheckConfigured a configured plugin and its backend (`… check NAME
//     --config FILE`);
//     Describe reads a configured executable's description in describe
//     mode, after its checksum pin (`ezscale plugins list`).
//
// The package takes plain Specs, not the config package's types, so config
// loading and plugin supervision stay independent.
package pluginhost
