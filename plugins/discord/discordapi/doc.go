// Package discordapi is a small client for the parts of Discord's bot REST API
// (v10) that EZSCALE uses: creating channel invites, reading a guild member,
// adding and removing a member's roles, and executing webhooks.
//
// It is plain net/http rather than a full Discord library so that the base URL
// can point at the fake in package fakediscord, and so that its rate-limit
// behaviour is ours to define and test:
//
//   - Every response's X-RateLimit-* headers update a per-bucket counter. A
//     bucket is the X-RateLimit-Bucket hash plus the route's major parameter
//     (channel, guild or webhook); until Discord has named a route's bucket, the
//     route itself is the bucket. When a bucket has no requests left, the next
//     call on it waits until X-RateLimit-Reset-After has passed.
//   - A 429 is never processed by Discord, so it is always safe to retry: the
//     client waits retry_after (or Retry-After) and tries again, up to
//     Config.MaxRetries times. A 429 with X-RateLimit-Global (or "global": true)
//     pauses every call of the client, not just that route.
//   - Waiting is bounded: a wait longer than Config.MaxWait, or one that would
//     outlast the context's deadline, is not slept; the call fails at once with
//     an *APIError whose RetryAfter tells the caller when to come back. Waits
//     end early when the context is cancelled.
//   - Nothing else is retried. Discord may have acted on a request that failed
//     with a 5xx, and repeating POSTs would duplicate invites or messages;
//     callers that run as retried jobs decide that. A webhook that answered 404
//     is remembered as gone and later calls to it fail without a request, as
//     Discord asks.
//
// Internal API of the Discord plugin; its exported names are not a promise to
// other modules.
package discordapi
