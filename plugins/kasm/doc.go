// Command ezscale-plugin-kasm is the EZSCALE provisioner for Kasm
// Workspaces, over the classic developer API (/api/public/*, credentials in
// the body).
//
// A service is a Kasm user of its own, named "<username_prefix><service
// id>", whose id is the service's external id; its workspace is that user's
// session, started from the plan's image.
//
//   - Create finds the user by name or creates it, then starts a session
//     unless one exists: a repeat finds both instead of creating more. Kasm
//     answers get_user of an unknown user with an error (400 "Invalid
//     Request"), which a lookup by name takes as "not found" (create_user is
//     unique on username). A session still coming up (requested,
//     provisioning, starting; get_kasm_status then also carries
//     error_message "This session is currently starting.") is PENDING, not
//     a failure; once Kasm has a session, Create does not fail, so a retry
//     finds it rather than starting another.
//   - Suspend disables the user through update_user (with its username,
//     which Kasm requires) and ends its sessions; Unsuspend enables it
//     again (the next LoginURL or Power boot starts a session).
//   - Terminate deletes the user with its sessions; a user already gone
//     (delete_user: "Unknown user (<id>)") counts as terminated, so a
//     second Terminate succeeds.
//   - Power: boot starts a session, shutdown ends it, restart does both.
//   - LoginURL returns the running session's URL, starting one if needed;
//     while it is not running yet the answer is Unavailable with a
//     retry-after of 5 s (the core's 503 with Retry-After).
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
