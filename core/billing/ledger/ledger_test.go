package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/accounts/accountstest"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/billing/ledger"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

type testBundle struct {
	db  *database.DB
	l   *ledger.Ledger
	ctx context.Context
}

func setup(t *testing.T, db *database.DB) *testBundle {
	t.Helper()
	return &testBundle{db: db, l: ledger.New(db, nil), ctx: context.Background()}
}

func (b *testBundle) account(t *testing.T) string {
	t.Helper()
	id, err := accountstest.Account(b.ctx, b.db, fmt.Sprintf("owner-%d@example.test", rand.Int64()))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (b *testBundle) post(p ledger.Posting) (*ledger.Entry, error) {
	var e *ledger.Entry
	err := b.db.Tx(b.ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		e, err = b.l.Post(ctx, tx, p)
		return err
	})
	return e, err
}

func TestPostMovesTheBalanceAndRefusesNegative(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		if _, err := b.post(ledger.Posting{AccountID: acc, Currency: "USD", Amount: 1000, Kind: ledger.KindTopUp}); err != nil {
			t.Fatal(err)
		}
		e, err := b.post(ledger.Posting{AccountID: acc, Currency: "USD", Amount: -400, Kind: ledger.KindCharge})
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != 2 || e.BalanceAfter != 600 {
			t.Errorf("second entry: seq %d balance_after %d, want 2 and 600", e.Seq, e.BalanceAfter)
		}
		_, err = b.post(ledger.Posting{AccountID: acc, Currency: "USD", Amount: -601, Kind: ledger.KindCharge})
		if !errors.Is(err, ledger.ErrInsufficientCredit) {
			t.Fatalf("overdraft: %v, want ErrInsufficientCredit", err)
		}
		_, err = b.post(ledger.Posting{AccountID: acc, Currency: "EUR", Amount: 5, Kind: ledger.KindTopUp})
		if apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("other currency: %v, want Conflict", err)
		}
		for _, bad := range []ledger.Posting{
			{AccountID: acc, Currency: "USD", Amount: 0, Kind: ledger.KindTopUp},
			{AccountID: acc, Currency: "USD", Amount: -5, Kind: ledger.KindTopUp},
			{AccountID: acc, Currency: "USD", Amount: 5, Kind: ledger.KindRefund},
			{AccountID: acc, Currency: "USD", Amount: 5, Kind: "gift"},
			{AccountID: acc, Currency: "usd", Amount: 5, Kind: ledger.KindTopUp},
		} {
			if _, err := b.post(bad); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%+v: %v, want Invalid", bad, err)
			}
		}
		bal, err := b.l.Balance(b.ctx, acc, "USD")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ledger.Balance{AccountID: acc, Amount: 600, Currency: "USD", Entries: 2}, bal, cmpIgnoreTime); diff != "" {
			t.Errorf("balance (-want +got):\n%s", diff)
		}
		if err := b.l.Verify(b.ctx, acc); err != nil {
			t.Error(err)
		}
	})
}

var cmpIgnoreTime = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".UpdatedAt" }, cmp.Ignore())

// TestEntriesAreAppendOnly: the database refuses UPDATE and DELETE.
func TestEntriesAreAppendOnly(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		if _, err := b.post(ledger.Posting{AccountID: acc, Currency: "USD", Amount: 100, Kind: ledger.KindTopUp}); err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{"UPDATE credit_entries SET amount = 1000000", "DELETE FROM credit_entries"} {
			if _, err := db.ExecContext(b.ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want the append-only trigger to refuse", stmt, err)
			}
		}
		if _, err := db.ExecContext(b.ctx, "UPDATE credit_balances SET balance = -1"); err == nil {
			t.Error("a negative balance was accepted by the CHECK")
		}
	})
}

// TestConcurrentPostsWithOneKeyCreditOnce: 20 concurrent top-ups with one
// idempotency key make one entry; all callers get that entry.
func TestConcurrentPostsWithOneKeyCreditOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		var wg sync.WaitGroup
		ids := make([]string, 20)
		errs := make([]error, 20)
		for i := range 20 {
			wg.Go(func() {
				e, err := b.post(ledger.Posting{AccountID: acc, Currency: "USD", Amount: 2500, Kind: ledger.KindTopUp, IdempotencyKey: "topup-1"})
				errs[i] = err
				if e != nil {
					ids[i] = e.ID
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("post %d: %v", i, err)
			}
			if ids[i] != ids[0] {
				t.Errorf("post %d returned entry %s, want %s", i, ids[i], ids[0])
			}
		}
		bal, err := b.l.Balance(b.ctx, acc, "USD")
		if err != nil {
			t.Fatal(err)
		}
		if bal.Amount != 2500 || bal.Entries != 1 {
			t.Errorf("balance %d over %d entries, want 2500 over 1", bal.Amount, bal.Entries)
		}
	})
}

// TestRandomizedConcurrentPostings runs random top-ups, charges, refunds,
// adjustments and replays from many goroutines over a few accounts and
// checks after every step that each balance equals the sum of its entries
// and none is negative.
func TestRandomizedConcurrentPostings(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		accs := []string{b.account(t), b.account(t), b.account(t)}
		const workers, steps = 8, 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		fail := func(format string, args ...any) {
			mu.Lock()
			failures = append(failures, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		for w := range workers {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(w), 7))
				for s := range steps {
					acc := accs[r.IntN(len(accs))]
					p := ledger.Posting{AccountID: acc, Currency: "USD"}
					switch r.IntN(5) {
					case 0:
						p.Kind, p.Amount = ledger.KindTopUp, 1+r.Int64N(5000)
					case 1:
						p.Kind, p.Amount = ledger.KindCharge, -(1 + r.Int64N(3000))
					case 2:
						p.Kind, p.Amount = ledger.KindRefund, -(1 + r.Int64N(2000))
					case 3:
						p.Kind, p.Amount = ledger.KindAdjustment, r.Int64N(4000)-2000
						if p.Amount == 0 {
							p.Amount = 1
						}
					case 4:
						// A replayed key: the same top-up twice from different workers.
						p.Kind, p.Amount, p.IdempotencyKey = ledger.KindTopUp, 100, fmt.Sprintf("replay-%d", s%5)
					}
					_, err := b.post(p)
					if err != nil && !errors.Is(err, ledger.ErrInsufficientCredit) {
						fail("worker %d step %d: %v", w, s, err)
						return
					}
					if err := b.l.Verify(b.ctx, acc); err != nil {
						fail("after worker %d step %d: %v", w, s, err)
						return
					}
				}
			})
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatal(strings.Join(failures, "\n"))
		}
		for _, acc := range accs {
			if err := b.l.Verify(b.ctx, acc); err != nil {
				t.Error(err)
			}
		}
	})
}

func TestHooksRunForNewEntriesOnly(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db)
		acc := b.account(t)
		var seen []int64
		b.l.AddHook(func(_ context.Context, _ bun.Tx, e *ledger.Entry) error {
			seen = append(seen, e.Amount)
			return nil
		})
		for range 2 {
			if _, err := b.post(ledger.Posting{AccountID: acc, Currency: "USD", Amount: 7, Kind: ledger.KindTopUp, IdempotencyKey: "k"}); err != nil {
				t.Fatal(err)
			}
		}
		if diff := cmp.Diff([]int64{7}, seen); diff != "" {
			t.Errorf("hook calls (-want +got):\n%s", diff)
		}
		entries, err := b.l.Entries(b.ctx, acc, 0, 10)
		if err != nil || len(entries) != 1 {
			t.Fatalf("entries: %v %v", entries, err)
		}
	})
}
