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
