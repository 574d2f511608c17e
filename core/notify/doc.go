// Package notify is the one way the platform tells people things.
//
// Domain code calls Notify(ctx, tx, Event{Type, AccountID | UserIDs |
// AllUsers, Data}) inside its own transaction. For each channel the type
// uses and each recipient who wants it (preferences, with defaults from
// the type registry; security messages cannot be turned off), Notify
// writes an in-app row (the notification center) and outbox entries with
// their delivery jobs, set-based (INSERT … SELECT), so one announcement to
// every user is a handful of statements. The outbox delivers each entry as
// its own job with retries, so a failing channel is retried without
// repeating the others.
//
// Messages are rendered once per event from templates (text/template and
// html/template, embedded, overridable file by file from a directory).
// Marketing types get List-Unsubscribe and one-click List-Unsubscribe-Post
// headers; the outbox's Prepare hook, run before every delivery attempt,
// re-checks preferences and unsubscribes and fills in each recipient's
// signed unsubscribe link.
//
// The notification center (list, unread counts, read/unread, mark all
// read) is read by the HTTP layer, and Subscribe feeds Server-Sent Events
// streams from a per-replica poller of the database (see stream.go), so
// streams work across replicas.
//
// Discord: the discord channel (admin alerts to the plugin's webhook, and
// users' own webhooks) goes through a notifier plugin, reached through the
// Plugins interface (the plugin host). The Discord community (invites,
// links, roles) is core/community.
package notify
