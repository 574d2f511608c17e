// Command ezscale-plugin-kasm is the EZSCALE provisioner for Kasm
// Workspaces, over the classic developer API (/api/public/*, credentials in
// the body).
//
// A service is a Kasm user of its own, named "<username_prefix><service
// id>", whose id is the service's external id; its workspace is that user's
// session, started from the plan's image.
//
//   - Create finds the user by name or creates it, then starts a session
//     unless one exists: a repeat finds both instead of creating more.
//   - Suspend disables the user and ends its sessions; Unsuspend enables it
//     again (the next LoginURL or Power boot starts a session).
//   - Terminate deletes the user with its sessions (a user already gone
//     counts as terminated).
//   - Power: boot starts a session, shutdown ends it, restart does both.
//   - LoginURL returns the running session's URL, starting one if needed.
//   - ResetPassword sets the user's password (update_user).
//   - ListAccounts lists the users that have sessions.
//   - Not supported: Usage and Capacity (the classic API reports no live
//     usage or agent capacity), Snapshot, Backup, RunScript, actions,
//     ChangePlan (a session's image is fixed; terminate and create instead),
//     Renew (not needed).
//
// Options (declared in Describe, see options): image_id (a 32-hex id from
// get_images), set on plans by staff or chosen by the customer among the
// images the plan offers.
package main
