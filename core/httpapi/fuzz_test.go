package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
	"github.com/ezscale/platform/core/ratelimit"
)

// Run the targets with e.g. `go test ./core/httpapi -run '^$' -fuzz FuzzDecodeSignup`;
// plain `go test` runs their seeds.

var decodeSeeds = []string{
	`{"email": "a@example.com", "password": "correct horse battery"}`,
	`{"email": "a@example.com", "password": "x", "account_name": "Acme"}`,
	`{"name": "ci", "scopes": ["account:read"], "expires_at": "2030-01-02T03:04:05Z"}`,
	`{"email": "a", "password": "b", "totp_code": "123456", "recovery_code": "abcde-fghij"}`,
	`{"role": "owner"}`, `{"email": 5}`, `{"scopes": "x"}`, `{"expires_at": "yesterday"}`,
	`{"account_name": "a\u0000b"}`, `{"scopes": ["a\u0000"]}`, `{"email": "\ud800"}`,
	`{} {}`, `[]`, `null`, `"x"`, `{"email": `, ``, "\xff", `{"email":"a","email":"b"}`,
	`{"EMAIL": "a"}`, `{"email": "a", "Email": "b"}`, `{"Scopes": ["account:read"]}`, `{"ſcopes": []}`,
	`{"email": "\udc00"}`, `{"email": "\ud800\u0041"}`, `{"email": "\ud83d\ude80"}`, `{"email": "\ufffd"}`,
	"{\"email\": \"\xed\xa0\x80\"}", "{\"email\": \"a\xffb\"}", `{"scopes": ["a", "\udfff"]}`,
	`{"": 1, "": 2}`, `{"expires_at": "2030-01-02T03:04:05Z", "expires_at": null}`,
}

// fuzzDecode checks the contract of DecodeBytes for one request type: it
// never panics, refuses with an Invalid apperr only, and what it accepts
// holds no NUL (which PostgreSQL text cannot store), is UTF-8 with no text
// replaced by U+FFFD (lone surrogates), and has no key given twice nor a
// key that matches a field only case-insensitively.
func fuzzDecode[T any](f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v T
		err := DecodeBytes(body, &v)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || ae.Code != apperr.Invalid {
				t.Fatalf("error %v (%T) is not an apperr Invalid", err, err)
			}
			for _, fe := range ae.Fields {
				if fe.Field == "" || !utf8.ValidString(fe.Field) {
					t.Fatalf("field error without a usable name: %+v", fe)
				}
			}
			return
		}
		if field := nulField(reflect.ValueOf(&v), ""); field != "" {
			t.Fatalf("accepted a NUL in %s", field)
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		if problem := ambiguity(body, reflect.TypeFor[T]()); problem != "" {
			t.Fatalf("accepted %q: %s", body, problem)
		}
	})
}

// ambiguity reads body with encoding/json's tokenizer, independently of
// DecodeBytes, and describes the first key given twice in one object, the
// first top-level key that matches a field of t only case-insensitively,
// or the first string whose text encoding/json replaced with U+FFFD; "" if
// none.
func ambiguity(body []byte, t reflect.Type) string {
	fields := map[string]bool{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	// A U+FFFD in the text is only legitimate when the body spells one.
	spelled := bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`)) || bytes.Contains(body, []byte("\uFFFD"))
	type frame struct {
		object, wantKey bool
		keys            map[string]bool
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				stack = append(stack, &frame{object: tok == '{', wantKey: tok == '{', keys: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
				if len(stack) > 0 && stack[len(stack)-1].object {
					stack[len(stack)-1].wantKey = true
				}
			}
			continue
		case string:
			if strings.ContainsRune(tok, utf8.RuneError) && !spelled {
				return fmt.Sprintf("%q holds replaced text", tok)
			}
			if top != nil && top.object && top.wantKey {
				if top.keys[tok] {
					return fmt.Sprintf("key %q given twice", tok)
				}
				top.keys[tok] = true
				if len(stack) == 1 && !fields[tok] {
					for name := range fields {
						if strings.EqualFold(name, tok) {
							return fmt.Sprintf("key %q matched field %q", tok, name)
						}
					}
				}
				top.wantKey = false
				continue
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}

func FuzzDecodeSignup(f *testing.F)      { fuzzDecode[signupRequest](f) }
func FuzzDecodeLogin(f *testing.F)       { fuzzDecode[loginRequest](f) }
func FuzzDecodeCreateToken(f *testing.F) { fuzzDecode[createTokenRequest](f) }

// FuzzPageParams: any limit and cursor either give a page within bounds and
// a storable cursor key, or an Invalid error naming the parameter; and a
// cursor the API hands out decodes back to its key.
func FuzzPageParams(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"10", ""}, {"0", ""}, {"201", ""}, {"-1", "AA"}, {"5", "MDE5MDAw"}, {"x", "!!"}, {"", "AP8"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, limit, cursor string) {
		q := url.Values{}
		if limit != "" {
			q.Set("limit", limit)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		r := httptest.NewRequest("GET", "/api/v1/x?"+q.Encode(), nil)
		n, after, err := PageParams(r)
		if err != nil {
			ae, ok := apperr.As(err)
			if !ok || ae.Code != apperr.Invalid || len(ae.Fields) != 1 || (ae.Fields[0].Field != "limit" && ae.Fields[0].Field != "cursor") {
				t.Fatalf("error %v is not an Invalid limit/cursor", err)
			}
			return
		}
		if n < 1 || n > MaxLimit {
			t.Fatalf("limit %d outside 1..%d", n, MaxLimit)
		}
		if !validText(after) {
			t.Fatalf("cursor key %q is not storable text", after)
		}
		// Round trip: the cursor NewList emits for a key decodes to it.
		if validText(cursor) && cursor != "" {
			l := NewList([]string{"a", cursor}, 1, func(s string) string { return s })
			r := httptest.NewRequest("GET", "/api/v1/x?cursor="+url.QueryEscape(l.NextCursor), nil)
			if _, got, err := PageParams(r); err != nil || got != "a" {
				t.Fatalf("cursor of %q decoded to %q, %v", "a", got, err)
			}
			enc := base64.RawURLEncoding.EncodeToString([]byte(cursor))
			if len(cursor) <= 200 {
				r := httptest.NewRequest("GET", "/api/v1/x?cursor="+enc, nil)
				if _, got, err := PageParams(r); err != nil || got != cursor {
					t.Fatalf("cursor of %q decoded to %q, %v", cursor, got, err)
				}
			}
		}
	})
}

// FuzzIdempotencyKey drives the Idempotency-Key middleware over a real
// database with any key and body: it never answers 500, a refused key is a
// 400 naming the header, and an accepted one replays on the second call.
func FuzzIdempotencyKey(f *testing.F) {
	for _, s := range [][2]string{{"k", "{}"}, {"", "{}"}, {"ключ", "{}"}, {"a\x00b", "{}"}, {"\xff", "x"}, {strings.Repeat("k", 256), ""}, {" ~", "\x00"}} {
		f.Add(s[0], []byte(s[1]))
	}
	dbs := map[string]*database.DB{"sqlite": databasetest.New(f, database.SQLite)}
	if os.Getenv(databasetest.EnvPostgres) != "" || os.Getenv("CI") == "true" {
		dbs["postgres"] = databasetest.New(f, database.Postgres)
	}
	servers := map[string]*Server{}
	for name, db := range dbs {
		servers[name] = New(Deps{DB: db, Limiter: ratelimit.New(db)}, Options{})
	}
	effect := HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		b, _ := io.ReadAll(r.Body)
		return writeJSON(w, http.StatusCreated, map[string]int{"len": len(b)})
	})
	var calls atomic.Int64
	f.Fuzz(func(t *testing.T, key string, body []byte) {
		// Each input gets a scope of its own, so inputs sharing a key do
		// not meet as "same key, different body".
		scope := context.WithValue(context.Background(), ipKey{}, fmt.Sprintf("fuzz-%d", calls.Add(1)))
		for name, s := range servers {
			h := s.adapt("/x", s.idempotent(Route{Method: "POST", Path: "/x"}, effect))
			call := func() *httptest.ResponseRecorder {
				r := httptest.NewRequestWithContext(scope, "POST", "/x", bytes.NewReader(body))
				r.Header["Idempotency-Key"] = []string{key}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			first := call()
			switch {
			case first.Code == http.StatusBadRequest:
				if validKey(key) || !strings.Contains(first.Body.String(), idempotencyField) {
					t.Fatalf("%s: key %q refused: %s", name, key, first.Body)
				}
			case first.Code == http.StatusCreated:
				if key != "" && !validKey(key) {
					t.Fatalf("%s: invalid key %q accepted", name, key)
				}
				second := call()
				if key != "" && (second.Code != http.StatusCreated || second.Header().Get(replayHeader) != "true" || second.Body.String() != first.Body.String()) {
					t.Fatalf("%s: key %q not replayed: %d %s", name, key, second.Code, second.Body)
				}
			default:
				t.Fatalf("%s: key %q: status %d: %s", name, key, first.Code, first.Body)
			}
		}
	})
}

// FuzzClientIP: any X-Forwarded-For from a trusted proxy resolves to a
// parseable address or the peer's own; never a client-chosen string.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "203.0.113.9", "203.0.113.9, 10.0.0.2", "garbage, 10.0.0.2", "::1,::ffff:10.0.0.3", ",,,", "10.0.0.2, 198.51.100.1, 10.0.0.3"} {
		f.Add(s)
	}
	s := New(Deps{}, Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:4000"
		r.Header.Set("X-Forwarded-For", xff)
		ip := s.resolveClientIP(r)
		if _, err := netip.ParseAddr(ip); err != nil {
			t.Fatalf("resolved %q from X-Forwarded-For %q", ip, xff)
		}
	})
}
