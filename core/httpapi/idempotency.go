package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
)

// Idempotency-Key rules (design, "Web API contract"):
//   - same key + same body → the stored response, marked Idempotent-Replayed;
//   - same key + different body → 422;
//   - same key while the first request is still running → 409;
//   - keys are kept for 24 h, scoped to the caller (the user, and the
//     account in the path), else the client IP for anonymous calls.
//
// The route table's authorization (token, staff role, scope, the caller's
// access and role in the path's account) runs before this middleware, so a
// stored response is only ever replayed to the caller whose request made
// it, and only while that caller may still call the route. Refusals of who
// the caller is or what they may see (401, 403, 404) are never stored: they
// say nothing about the key, and a caller must not be able to park one on
// a key someone else will use.
//
// The claim is a committed row without a response. The handler then runs in
// one transaction with the row's completion, so its effects and the stored
// response commit together: a crash before commit leaves no effect and a
// claim that a retry may take over once it is stale; a crash after commit
// leaves the response to replay. Effects are therefore never doubled.
const (
	idempotencyTTL   = 24 * time.Hour
	maxKeyLen        = 255
	replayHeader     = "Idempotent-Replayed"
	idempotencyField = "Idempotency-Key"
)

type idempotencyRecord struct {
	bun.BaseModel `bun:"table:idempotency_keys"`

	Scope        string    `bun:"scope,pk"`
	Key          string    `bun:"key,pk"`
	Method       string    `bun:"method"`
	Path         string    `bun:"path"`
	RequestHash  string    `bun:"request_hash"`
	Status       *int      `bun:"status"`
	ContentType  string    `bun:"content_type"`
	ResponseBody []byte    `bun:"response_body"`
	CreatedAt    time.Time `bun:"created_at"`
	ExpiresAt    time.Time `bun:"expires_at"`
}

func (s *Server) idempotent(rt Route, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get(idempotencyField)
		if key == "" {
			return next(w, r)
		}
		if !validKey(key) {
			return apperr.Field(idempotencyField, "must be 1 to %d printable ASCII characters", maxKeyLen)
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errBodyTooLarge
			}
			return apperr.New(apperr.Invalid, "could not read the request body").WithReason("bad_body")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(append([]byte(r.Method+"\n"+r.URL.Path+"\n"), body...))
		rec := &idempotencyRecord{
			Scope: idempotencyScope(r), Key: key, Method: r.Method, Path: r.URL.Path,
			RequestHash: hex.EncodeToString(sum[:]),
		}
		owned, stored, err := s.claim(r.Context(), rec, s.opts.RequestTimeout)
		if err != nil {
			return err
		}
		if !owned {
			return replay(w, stored)
		}

		resp := newRecorder()
		var handlerErr error
		txErr := s.DB.Tx(r.Context(), func(ctx context.Context, tx bun.Tx) error {
			handlerErr = next(resp, r.WithContext(ctx))
			if handlerErr != nil || resp.status >= 400 {
				return errRollback
			}
			return s.complete(ctx, tx, rec, resp)
		})
		if txErr != nil && !errors.Is(txErr, errRollback) {
			s.release(rec)
			return txErr
		}
		if handlerErr != nil {
			s.writeError(resp, r, handlerErr)
		}
		if resp.status >= 400 {
			// A request that failed validation never started, refusals of
			// access are not the key's to keep, and transient refusals and
			// server errors may succeed later: they free the key. Other
			// client errors (payment required, unprocessable, …) are the
			// answer to this key from now on.
			switch resp.status {
			case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
				http.StatusRequestEntityTooLarge, http.StatusConflict, http.StatusTooManyRequests, http.StatusServiceUnavailable:
				s.release(rec)
			default:
				if resp.status >= 500 {
					s.release(rec)
				} else if err := s.DB.Tx(r.Context(), func(ctx context.Context, tx bun.Tx) error {
					return s.complete(ctx, tx, rec, resp)
				}); err != nil {
					s.Logger.Error("storing idempotent error response", "error", err)
				}
			}
		}
		resp.copyTo(w)
		return nil
	}
}

var errRollback = errors.New("roll back")

// validKey accepts printable ASCII only: a key is stored as text, and bytes a
// header may carry (obs-text) are not valid UTF-8.
func validKey(key string) bool {
	if key == "" || len(key) > maxKeyLen {
		return false
	}
	for i := range len(key) {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotencyScope keys records by the caller: the user, and the account in
// the path when there is one; the anonymous client's IP otherwise. A key is
// never shared between callers, so one cannot replay or poison another's.
func idempotencyScope(r *http.Request) string {
	p := PrincipalFrom(r.Context())
	if p == nil {
		return "ip:" + clientIP(r.Context())
	}
	scope := "user:" + p.UserID
	if id := mux.Vars(r)["account_id"]; id != "" {
		scope += " account:" + id
	}
	return scope
}

// claim inserts the in-progress record. When the key exists it returns the
// stored record (to replay), or a 422 / 409 problem; a claim older than
// staleAfter belongs to a request that died and is taken over.
func (s *Server) claim(ctx context.Context, rec *idempotencyRecord, staleAfter time.Duration) (bool, *idempotencyRecord, error) {
	now := timeNow()
	rec.CreatedAt, rec.ExpiresAt = now, now.Add(idempotencyTTL)
	res, err := s.DB.NewInsert().Model(rec).On("CONFLICT (scope, key) DO NOTHING").Exec(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("idempotency: claiming key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil, nil
	}
	old := &idempotencyRecord{}
	if err := s.DB.NewSelect().Model(old).Where("scope = ?", rec.Scope).Where("key = ?", rec.Key).Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return false, nil, apperr.New(apperr.Conflict, "a request with this Idempotency-Key just finished; retry").WithReason("idempotency_key_in_use")
		}
		return false, nil, fmt.Errorf("idempotency: loading key: %w", err)
	}
	if !now.Before(old.ExpiresAt) {
		// Expired but not yet pruned: start over under the same key.
		res, err := s.DB.NewUpdate().Model(rec).WherePK().Where("expires_at = ?", old.ExpiresAt).
			Column("method", "path", "request_hash", "status", "content_type", "response_body", "created_at", "expires_at").Exec(ctx)
		if err != nil {
			return false, nil, fmt.Errorf("idempotency: renewing key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return true, nil, nil
		}
		return false, nil, apperr.New(apperr.Conflict, "a request with this Idempotency-Key is in progress").WithReason("idempotency_key_in_use")
	}
	if old.RequestHash != rec.RequestHash {
		return false, nil, apperr.New(apperr.Unprocessable, "this Idempotency-Key was used with a different request").WithReason("idempotency_key_reused")
	}
	if old.Status != nil {
		return false, old, nil
	}
	if now.Sub(old.CreatedAt) < staleAfter {
		return false, nil, apperr.New(apperr.Conflict, "a request with this Idempotency-Key is in progress").WithReason("idempotency_key_in_use")
	}
	res, err = s.DB.NewUpdate().Model((*idempotencyRecord)(nil)).Set("created_at = ?", now).
		Where("scope = ?", rec.Scope).Where("key = ?", rec.Key).Where("status IS NULL").Where("created_at = ?", old.CreatedAt).Exec(ctx)
	if err != nil {
		return false, nil, fmt.Errorf("idempotency: taking over stale key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil, nil
	}
	return false, nil, apperr.New(apperr.Conflict, "a request with this Idempotency-Key is in progress").WithReason("idempotency_key_in_use")
}

func (s *Server) complete(ctx context.Context, tx bun.Tx, rec *idempotencyRecord, resp *recorder) error {
	status := resp.status
	_, err := tx.NewUpdate().Model((*idempotencyRecord)(nil)).
		Set("status = ?", status).Set("content_type = ?", resp.header.Get("Content-Type")).Set("response_body = ?", resp.body.Bytes()).
		Where("scope = ?", rec.Scope).Where("key = ?", rec.Key).Exec(ctx)
	if err != nil {
		return fmt.Errorf("idempotency: storing response: %w", err)
	}
	return nil
}

// release deletes an unfinished claim so the key can be retried at once.
func (s *Server) release(rec *idempotencyRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.DB.NewDelete().Model((*idempotencyRecord)(nil)).
		Where("scope = ?", rec.Scope).Where("key = ?", rec.Key).Where("status IS NULL").Exec(ctx); err != nil {
		s.Logger.Error("releasing idempotency key", "error", err)
	}
}

func replay(w http.ResponseWriter, rec *idempotencyRecord) error {
	if rec.ContentType != "" {
		w.Header().Set("Content-Type", rec.ContentType)
	}
	w.Header().Set(replayHeader, "true")
	w.WriteHeader(*rec.Status)
	_, err := w.Write(rec.ResponseBody)
	return err
}

// PruneIdempotencyKeys deletes expired records; a periodic job calls it.
func PruneIdempotencyKeys(ctx context.Context, db *database.DB) (int64, error) {
	res, err := db.NewDelete().Model((*idempotencyRecord)(nil)).Where("expires_at < ?", timeNow()).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("idempotency: pruning: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// recorder buffers a response so it can be stored before it is sent.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

func (r *recorder) copyTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
