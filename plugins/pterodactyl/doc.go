// Command ezscale-plugin-pterodactyl is the EZSCALE provisioner for game
// servers on a Pterodactyl panel. It uses the Application API (ptla_ key of a
// root admin) for users, servers, builds, suspension, deletion, nodes and
// allocations, and the Client API (ptlc_ key of a root admin, so it reaches
// every server) for power signals, resource usage and console commands.
//
//   - Create: the customer's panel user is found by external id
//     "ezscale-<account id>", else created. It is never taken over by email:
//     the panel's filter[email] matches substrings, and the customer's email
//     may be unverified (a password reset would then hand over someone
//     else's panel account). A panel user with exactly that email and no
//     link makes Create a Conflict that names the external id staff set on
//     it to link it. The server is found by external id
//     "ezscale-<service id>" or created from an egg (image, startup and
//     variables default to the egg's) with limits and feature limits from
//     the plan, deployed to a free allocation in the plan's location (and
//     port range, when the plan has one), and started once installed. A
//     repeat finds the server by its external id instead of creating
//     another.
//   - Suspend, Unsuspend, Terminate (a server already gone counts as
//     terminated), GetInfo, ChangePlan (build limits), ResetPassword (the
//     panel user's password), Power (start, stop, restart), Usage, RunScript
//     (each line typed into the console; the server must be running),
//     ListAccounts, Capacity (per node, free allocations as slots), the
//     reinstall action, and backups through the Client API: Backup (the
//     scheduler's backup task; idempotent per key and by name), ListBackups
//     and the delete_backup action. The plan's backups option is the
//     server's limit; a full limit (or 0) is a Conflict saying so.
//   - Not supported: Snapshot (the panel has none), LoginURL (the panel has
//     no single sign-on API), Renew (not needed).
//
// Options (declared in Describe with the panel's limits, see options): staff
// set nest_id, egg_id, location_id, port_range, memory, swap, disk, io, cpu
// (percent of a core), databases, backups, allocations, docker_image,
// startup, name and env.<VARIABLE> (egg variables) on plans; a customer may
// choose location_id and name where the plan offers them.
package main
