// Command ezscale-plugin-virtfusion is the EZSCALE provisioner for VPSes on
// VirtFusion. It serves the SDK's provisioner surface over go-plugin:
//
//   - Create: the customer's VirtFusion user is found by extRelationId (the
//     account id, see extRelationID) or created; the server is created from
//     a package in a hypervisor group, named "ezscale-<service id>", and
//     built with an OS template. A repeat finds the named server (walking
//     every page of the user's servers) instead of creating another.
//     Creating and naming are two calls: when the answer to the create is
//     lost (no answer, or a 5xx), the panel may hold an unnamed server in
//     state allocated. The plugin adopts it, at once or on the next attempt:
//     the user's unnamed allocated server created in that attempt's window
//     (ids above the highest the user had), made from the plan (group,
//     package resources, IPv4 count), is named and built instead of
//     creating a second one. Creates of one customer run one at a time per
//     plugin process, so another create in flight is never taken for an
//     orphan. Terminate of a service that never got its server deletes such
//     an orphan. The window lives in the plugin process: after a restart an
//     orphan is left for staff (an unnamed allocated server in the panel).
//   - Suspend, Unsuspend, Terminate (a server already gone counts as
//     terminated), GetInfo, Power (boot, shutdown, restart), ChangePlan
//     (change package), ResetPassword (root password), Usage (live state
//     plus traffic; memory is read while remoteState.state is "running"),
//     LoginURL (SSO tokens; the panel's origin in front of the path it
//     answers), ListAccounts, Capacity (per hypervisor from the group
//     resources) and actions (list backups, set a backup plan). The server
//     keeps its ezscale-<service id> name: it is how a repeated Create finds
//     it.
//   - Not supported, because VirtFusion's API has no endpoint for them:
//     Snapshot, Backup (only listing backups exists: the list_backups
//     action), RunScript; Renew is not needed (VirtFusion does no billing).
//
// Config: see Describe (api_url, api_token, timeout, and defaults for plan
// options). Options (declared in Describe, see options): staff set
// package_id, ipv4, hypervisor_group_id and os_template_id on plans; a
// customer may choose hypervisor_group_id (location), os_template_id and
// hostname where the plan offers them.
package main
