package database

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// RetryAfter is what callers are told to wait when the database cannot be
// reached: a restart or failover takes seconds.
const RetryAfter = 5 * time.Second

// IsConnectionError reports whether err means the database could not be
// reached, rather than that it refused the statement: a connection refused
// or reset, a connection closed under a query, and the PostgreSQL SQLSTATE
// classes 08 (connection exception) and 57P (operator intervention: admin
// or crash shutdown, cannot connect now). Such an error says nothing about
// the request; the same request succeeds once the database is back.
func IsConnectionError(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P")
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	// pgx reports a connection lost mid-query as "conn closed" or an
	// unexpected EOF without a typed error.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "unexpected EOF")
}

// outage follows whether the database is reachable, from the outcomes of
// queries: the first connection error of an outage is logged, as is the
// first success of a query begun after it, and nothing in between, so an
// outage is two log lines however many requests and jobs fail during it.
// A query begun before the outage can still succeed after it began (its
// answer was already on its way, or in the socket's buffer when the
// connection was reset), and says nothing of whether the database is back.
type outage struct {
	mu     sync.Mutex
	down   bool
	since  time.Time
	logger *slog.Logger
}

// observe records the outcome of one query, begun at started.
func (o *outage) observe(err error, started time.Time) {
	if o == nil {
		return
	}
	if err != nil && !IsConnectionError(err) {
		// The database answered (with a refusal): it is reachable, but
		// this says nothing new unless it was down.
		err = nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err != nil && !o.down:
		o.down, o.since = true, time.Now()
		if o.logger != nil {
			o.logger.Error("database unreachable; requests answer 503 until it is back", "error", err.Error())
		}
	case err == nil && o.down && !started.Before(o.since):
		o.down = false
		if o.logger != nil {
			o.logger.Info("database reachable again", "outage", time.Since(o.since).Round(time.Millisecond).String())
		}
	}
}

func (o *outage) isDown() bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down
}

// outageHook feeds every bun query's outcome to the outage tracker.
type outageHook struct{ o *outage }

func (outageHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (h outageHook) AfterQuery(ctx context.Context, ev *bun.QueryEvent) {
	if ctx.Err() != nil {
		// A cancelled request is no evidence either way.
		return
	}
	h.o.observe(ev.Err, ev.StartTime)
}

// NoteError tells the outage tracker about an error that did not come from
// a bun query (River, a commit); a connection error starts an outage if
// none is under way. It returns IsConnectionError(err).
func (db *DB) NoteError(err error) bool {
	if !IsConnectionError(err) {
		return false
	}
	db.outage.observe(err, time.Now())
	return true
}

// Unreachable reports whether the database is in an outage: its last query
// failed for want of a connection and none has succeeded since.
func (db *DB) Unreachable() bool { return db.outage.isDown() }
