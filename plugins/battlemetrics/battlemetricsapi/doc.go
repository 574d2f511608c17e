// Package battlemetricsapi is a typed client for the public BattleMetrics
// API (https://api.battlemetrics.com), the parts a game-server monitor
// needs: the server list with filters and cursor pagination, one server,
// and a server's player-count history. Bodies are JSON:API documents;
// errors are JSON:API error objects, returned as *apierror.Error with
// errors[0].detail as the message. A token is optional: public reads work
// without one at a lower rate limit (60/min instead of 300/min).
package battlemetricsapi
