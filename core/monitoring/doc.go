// Package monitoring watches customers' game servers through the public
// listings (monitor plugins: BattleMetrics, GameTracker): current players
// and max players, rank, uptime %, a 7- or 30-day player chart and links to
// the listings.
//
// A monitor is one game service seen through one monitor plugin. Monitors
// are attached automatically (Attach, a periodic job) to every active game
// service whose provisioner reports an address ("address" = host:port, as
// Pterodactyl does, or "ip" and "port"), once per enabled monitor plugin;
// staff or the customer may set the address, the game and the listing ids
// themselves (SetSettings), and the automatic attachment then leaves the
// service alone.
//
// The sampling job (Sample, every Options.Interval) takes the monitors that
// are due, at most Options.Batch at a time, calls their plugins with at most
// Options.Concurrency calls in flight and never inside a transaction, and
// writes the batch's readings and samples in one short transaction. Each
// monitor's next sample is due an interval after the last was due, give or
// take half of Options.Jitter (derived from the service, the plugin and the
// time, so replicas agree), or later when the plugin asked to be left alone
// (a retry hint). A stale
// reading (GameTracker's page could not be read) updates the links but
// stores no sample. Samples are kept for Options.Retention.
//
// When a listing shows the server offline or dead in DownAfter consecutive
// fresh samples while the backend runs it, the service's health goes down
// through the same path as a failed auto-recovery check (Deps.Health, which
// core/app points at scheduler.ReportHealth): projects record the outage and
// alert the dependents. The first online sample after that reports it up.
//
// Which services are game services, and their addresses, come from a
// Services provider (billing, through core/app); the package owns
// game_monitors and game_monitor_samples and reads no other domain's
// tables.
package monitoring
