package database

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

type txKey struct{}

// txState is the ambient transaction and the work queued to run after it.
type txState struct {
	tx    bun.Tx
	after []func(context.Context)
}

// WithTx returns a context that carries tx as the ambient transaction: every
// DB.Tx call under it joins tx instead of starting its own.
func WithTx(ctx context.Context, tx bun.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, &txState{tx: tx})
}

// TxFrom returns the ambient transaction, if any.
func TxFrom(ctx context.Context) (bun.Tx, bool) {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok || st == nil {
		return bun.Tx{}, false
	}
	return st.tx, true
}

// Tx runs fn in the ambient transaction when ctx carries one, otherwise in a
// new transaction that commits when fn returns nil. The HTTP layer opens one
// per idempotent request so that a request's effects and its Idempotency-Key
// record commit together.
func (db *DB) Tx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	if tx, ok := TxFrom(ctx); ok {
		return fn(ctx, tx)
	}
	st := &txState{}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		st.tx = tx
		return fn(context.WithValue(ctx, txKey{}, st), tx)
	})
	// Outside any transaction now: on SQLite the write connection is free.
	plain := context.WithValue(ctx, txKey{}, (*txState)(nil))
	for _, f := range st.after {
		f(plain)
	}
	return err
}

// Detached runs fn in a transaction of its own that survives the ambient
// transaction's rollback: for records such as the audit event of a refused
// action. Under an ambient transaction fn is queued until that transaction
// ends (SQLite has one write connection, so it cannot run alongside); its
// error then goes to report, which may be nil.
func (db *DB) Detached(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error, report func(error)) error {
	run := func(ctx context.Context) error {
		return db.Tx(ctx, fn)
	}
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st != nil {
		st.after = append(st.after, func(ctx context.Context) {
			if err := run(ctx); err != nil && report != nil {
				report(err)
			}
		})
		return nil
	}
	return run(ctx)
}

// Conn returns the handle queries should use under ctx: the ambient
// transaction if there is one, else the write pool.
func (db *DB) Conn(ctx context.Context) bun.IDB {
	if tx, ok := TxFrom(ctx); ok {
		return tx
	}
	return db.DB
}

// ReadConn returns the handle a read-only query should use under ctx: the
// ambient transaction if there is one (it sees the transaction's own
// writes), else the read pool, so reads do not queue for SQLite's one
// write connection.
func (db *DB) ReadConn(ctx context.Context) bun.IDB {
	if tx, ok := TxFrom(ctx); ok {
		return tx
	}
	return db.Read
}

// IsUniqueViolation reports whether err is a unique-constraint failure.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqlErr *sqlite.Error
	if errors.As(err, &sqlErr) {
		return sqlErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || sqlErr.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsNoRows reports whether err means the query matched nothing.
func IsNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// IsSerializationFailure reports a conflict the caller may retry.
func IsSerializationFailure(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return err != nil && strings.Contains(err.Error(), "SQLITE_BUSY")
}
