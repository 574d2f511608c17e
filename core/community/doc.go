// Package community is the Discord community: a single-use invite for
// every new user, linking a user to their Discord account, and the
// community roles (vps, gaming, vip) that follow what the user's accounts
// hold.
//
// Every Discord call goes through the community plugin (sdk.Community),
// always outside a transaction: signup schedules the invite as a job, and
// a service status change records a role-sync request in its own
// transaction (RequestRoleSync) that a job turns into a SyncRoles call.
// What a user holds comes from a HoldingsProvider (billing) and who is in
// an account from a Directory (accounts), both given to New; the package
// reads no other domain's tables.
//
// It owns discord_links, discord_invites and discord_role_requests. Its
// job kinds keep the notify_discord_* names they had when the community
// lived in the notification service, so jobs queued before an upgrade
// still find their worker.
package community
