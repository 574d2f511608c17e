package httpapi

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/ezscale/platform/core/apperr"
)

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// List is the envelope of every list response.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// PageParams reads limit and cursor. The cursor is opaque to clients: the
// base64 of the last item's sort key, which the handler interprets.
func PageParams(r *http.Request) (limit int, after string, err error) {
	q := r.URL.Query()
	limit = DefaultLimit
	if s := q.Get("limit"); s != "" {
		n, convErr := strconv.Atoi(s)
		if convErr != nil || n < 1 || n > MaxLimit {
			return 0, "", apperr.Field("limit", "must be a whole number from 1 to %d", MaxLimit)
		}
		limit = n
	}
	if c := q.Get("cursor"); c != "" {
		b, decErr := base64.RawURLEncoding.DecodeString(c)
		if decErr != nil || len(b) == 0 || len(b) > 200 || !validText(string(b)) {
			return 0, "", apperr.Field("cursor", "is not a cursor returned by this API")
		}
		after = string(b)
	}
	return limit, after, nil
}

// NewList builds the envelope from limit+1 fetched items: the extra item
// only says that another page exists, and key gives the cursor of the last
// item returned.
func NewList[T any](items []T, limit int, key func(T) string) List[T] {
	out := List[T]{Data: items}
	if out.Data == nil {
		out.Data = []T{}
	}
	if len(items) > limit {
		out.Data = items[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(key(items[limit-1])))
	}
	return out
}

// writePage answers a list request with one page: it reads the page
// parameters, fetches limit+1 items after the cursor, and writes their
// views in the envelope, keyed by cursor.
func writePage[T, V any](w http.ResponseWriter, r *http.Request, fetch func(after string, limit int) ([]T, error), view func(*T) V, cursor func(V) string) error {
	limit, after, err := PageParams(r)
	if err != nil {
		return err
	}
	items, err := fetch(after, limit+1)
	if err != nil {
		return err
	}
	views := make([]V, len(items))
	for i := range items {
		views[i] = view(&items[i])
	}
	return writeJSON(w, http.StatusOK, NewList(views, limit, cursor))
}

// seqCursor reads a cursor that is a sequence number (ledger entries,
// jobs, notifications); 0 when there is none.
func seqCursor(after string) (int64, error) {
	if after == "" {
		return 0, nil
	}
	seq, err := strconv.ParseInt(after, 10, 64)
	if err != nil || seq <= 0 {
		return 0, apperr.Field("cursor", "is not a cursor returned by this API")
	}
	return seq, nil
}
