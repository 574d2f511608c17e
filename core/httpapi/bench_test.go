package httpapi_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// Benchmarks of authenticated GET /api/v1/me over real loopback HTTP with
// parallel keep-alive clients:
//
//	BenchmarkGetMe/<db>        the application's handler (app.New): outer
//	                           middleware, token auth, scope check, handler,
//	                           three queries through bun, JSON
//	BenchmarkBareHandler/<db>  a bare net/http handler doing the same token
//	                           lookup, user and memberships queries with
//	                           database/sql: the baseline
//	BenchmarkGetMeOverhead/<db> both, alternated by the same clients
//
// Both report req/s and p50/p99 latency; benchreport prints the ratio of the
// two from the same run.

// benchClients is the number of concurrent clients per GOMAXPROCS.
const benchClients = 8

func BenchmarkGetMe(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		tb := startApp(b, d, databasetest.URL(b, d))
		token := benchSession(b, tb.app.Accounts)
		measure(b, tb.srv.URL+"/api/v1/me", token)
	})
}

func BenchmarkBareHandler(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		tb := startApp(b, d, databasetest.URL(b, d))
		token := benchSession(b, tb.app.Accounts)
		sqldb := tb.app.DB.Read.DB
		srv := httptest.NewServer(bareMe(sqldb, d))
		b.Cleanup(srv.Close)
		measure(b, srv.URL+"/api/v1/me", token)
	})
}

// BenchmarkGetMeOverhead alternates the application's GET /api/v1/me and the
// bare handler's in every iteration of the same parallel clients, so both
// see the same machine load, and reports the application's overhead over
// the baseline in percent (the figure least disturbed by a noisy machine).
func BenchmarkGetMeOverhead(b *testing.B) {
	eachDialect(b, func(b *testing.B, d database.Dialect) {
		tb := startApp(b, d, databasetest.URL(b, d))
		token := benchSession(b, tb.app.Accounts)
		bare := httptest.NewServer(bareMe(tb.app.DB.Read.DB, d))
		b.Cleanup(bare.Close)
		client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
		get := func(url string) (time.Duration, error) {
			t0 := time.Now()
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := client.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return 0, err
			}
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("%s: status %d", url, resp.StatusCode)
			}
			return time.Since(t0), nil
		}
		appURL, bareURL := tb.srv.URL+"/api/v1/me", bare.URL+"/api/v1/me"
		var appNs, bareNs, failures atomic.Int64
		b.SetParallelism(benchClients)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				da, err1 := get(appURL)
				db, err2 := get(bareURL)
				if err1 != nil || err2 != nil {
					failures.Add(1)
					continue
				}
				appNs.Add(int64(da))
				bareNs.Add(int64(db))
			}
		})
		if n := failures.Load(); n > 0 {
			b.Fatalf("%d iterations failed", n)
		}
		app, base := float64(appNs.Load())/float64(b.N), float64(bareNs.Load())/float64(b.N)
		b.ReportMetric(app, "app-ns/req")
		b.ReportMetric(base, "bare-ns/req")
		b.ReportMetric(100*(app-base)/base, "overhead-%")
	})
}

func eachDialect(b *testing.B, f func(b *testing.B, d database.Dialect)) {
	for _, d := range []database.Dialect{database.SQLite, database.Postgres} {
		b.Run(string(d), func(b *testing.B) { f(b, d) })
	}
}

// benchSession signs a customer up and returns a session token.
func benchSession(b *testing.B, svc *accounts.Service) string {
	b.Helper()
	ctx := context.Background()
	email := uniqueEmail("bench")
	if _, _, err := svc.Signup(ctx, accounts.SignupInput{Email: email, Password: "correct horse battery"}); err != nil {
		b.Fatal(err)
	}
	sess, _, err := svc.Login(ctx, accounts.LoginInput{Email: email, Password: "correct horse battery"})
	if err != nil {
		b.Fatal(err)
	}
	return sess.Token
}

// measure runs GET url with the token from parallel clients and reports
// throughput and latency percentiles.
func measure(b *testing.B, url, token string) {
	b.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}}
	get := func() error {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(); err != nil { // warm up, and fail early on a bad setup
		b.Fatal(err)
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
	)
	b.SetParallelism(benchClients)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			if err := get(); err != nil {
				failures.Add(1)
				continue
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	if n := failures.Load(); n > 0 {
		b.Fatalf("%d requests failed", n)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(percentile(latencies, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(latencies, 0.99).Microseconds()), "p99-µs")
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

// bareMe is the baseline: GET /api/v1/me as plainly as net/http and
// database/sql allow, with the same three queries as the application.
func bareMe(db *sql.DB, d database.Dialect) http.Handler {
	ph := func(q string) string {
		if d != database.Postgres {
			return q
		}
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
		return q
	}
	tokenQ := ph(`SELECT t.user_id, t.kind, t.scopes, t.revoked_at IS NOT NULL, t.expires_at, u.disabled_at IS NOT NULL
		FROM api_tokens AS t JOIN users AS u ON u.id = t.user_id WHERE t.token_hash = ?`)
	userQ := ph(`SELECT id, email, email_verified_at IS NOT NULL, totp_enabled, staff_role, created_at FROM users WHERE id = ?`)
	membersQ := ph(`SELECT m.account_id, a.name, m.role, a.created_at FROM memberships AS m
		JOIN accounts AS a ON a.id = m.account_id WHERE m.user_id = ? ORDER BY a.name, a.id`)
	type account struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		Role      string    `json:"role"`
		CreatedAt time.Time `json:"created_at"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		sum := sha256.Sum256([]byte(token))
		var userID, kind, scopes string
		var revoked, disabled bool
		var expires sql.NullTime
		err := db.QueryRowContext(ctx, tokenQ, hex.EncodeToString(sum[:])).Scan(&userID, &kind, &scopes, &revoked, &expires, &disabled)
		if err != nil || revoked || disabled || (expires.Valid && !time.Now().Before(expires.Time)) {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		var u struct {
			ID            string    `json:"id"`
			Email         string    `json:"email"`
			EmailVerified bool      `json:"email_verified"`
			TOTPEnabled   bool      `json:"totp_enabled"`
			StaffRole     *string   `json:"staff_role"`
			CreatedAt     time.Time `json:"created_at"`
		}
		if err := db.QueryRowContext(ctx, userQ, userID).Scan(&u.ID, &u.Email, &u.EmailVerified, &u.TOTPEnabled, &u.StaffRole, &u.CreatedAt); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rows, err := db.QueryContext(ctx, membersQ, userID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		accts := []account{}
		for rows.Next() {
			var a account
			if err := rows.Scan(&a.ID, &a.Name, &a.Role, &a.CreatedAt); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			accts = append(accts, a)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"user": u, "accounts": accts, "token": map[string]any{"kind": kind, "scopes": strings.Fields(scopes)}})
	})
}
