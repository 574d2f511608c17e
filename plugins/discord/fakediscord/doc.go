// Package fakediscord is an in-memory fake of the parts of Discord's bot REST
// API that the Discord plugin calls, for tests: create channel invite, get
// guild member, add and remove a member's role, and execute webhook.
//
// It behaves like the real API as documented (see the Discord section of
// shared/reference/third-party-apis.md) so that pointing the plugin at
// discord.com is only a configuration change:
//
//   - paths are served under /api/v10 (and /api, as webhook URLs are shown);
//   - every bot call must carry "Authorization: Bot <token>" or gets Discord's
//     401 body, and every request must carry a "DiscordBot (url, version)"
//     User-Agent;
//   - errors use Discord's JSON codes (10003, 10004, 10007, 10011, 10015,
//     50006, 50013, 50027, 50035) and bodies;
//   - every response carries X-RateLimit-Limit/Remaining/Reset/Reset-After/
//     Bucket; a bucket (route × major parameter) that exceeds
//     Options.BucketLimit in Options.BucketWindow, or a bot exceeding
//     Options.GlobalLimit per second, gets the documented 429 with
//     Retry-After, X-RateLimit-Scope and a retry_after body;
//   - tests can inject failures per route (any status and body, including
//     429s) and read back every request the fake received.
//
// For the sandbox (`make demo`, served by cmd/ezscale-fakes), Seed creates a
// guild under ids a config file can name, Options.Logf follows every request
// and what it changed, and two control routes under /__fake/ stand in for
// Discord's app: accepting an invite (POST /__fake/invites/{code}/join) and
// looking at guilds, members' roles, invites and webhook messages
// (GET /__fake/state).
//
// A Server is an http.Handler; serve it with httptest.NewServer.
package fakediscord
