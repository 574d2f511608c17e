package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/money"
)

// Kind says why an entry exists. The sign of the amount goes with the kind
// (a refund is always a debit); adjustments go both ways.
type Kind string

// Entry kinds.
const (
	KindTopUp          Kind = "topup"            // + money paid in (card, auto top-up)
	KindPayment        Kind = "payment"          // + a card payment for an invoice, applied at once
	KindAdjustment     Kind = "adjustment"       // ± staff correction or manual credit
	KindRefund         Kind = "refund"           // − credit paid back to the card
	KindRefundReversal Kind = "refund_reversal"  // + a refund the gateway refused
	KindInvoicePayment Kind = "invoice_payment"  // − credit applied to an invoice
	KindInvoiceCredit  Kind = "invoice_credit"   // + what a voided or re-priced invoice had taken
	KindProration      Kind = "proration_credit" // + unused days of an immediate downgrade
	KindCharge         Kind = "charge"           // − a direct charge against credit
)

var kindSign = map[Kind]int{
	KindTopUp: 1, KindPayment: 1, KindAdjustment: 0, KindRefund: -1, KindRefundReversal: 1,
	KindInvoicePayment: -1, KindInvoiceCredit: 1, KindProration: 1, KindCharge: -1,
}

// Entry is one stored posting.
type Entry struct {
	bun.BaseModel `bun:"table:credit_entries"`

	ID             string         `bun:"id,pk" json:"id"`
	AccountID      string         `bun:"account_id" json:"account_id"`
	Seq            int64          `bun:"seq" json:"seq"`
	Kind           Kind           `bun:"kind" json:"kind"`
	Amount         int64          `bun:"amount" json:"amount"`
	Currency       money.Currency `bun:"currency" json:"currency"`
	BalanceAfter   int64          `bun:"balance_after" json:"balance_after"`
	InvoiceID      *string        `bun:"invoice_id" json:"invoice_id,omitempty"`
	Reference      string         `bun:"reference" json:"reference,omitempty"`
	IdempotencyKey *string        `bun:"idempotency_key" json:"-"`
	Description    string         `bun:"description" json:"description"`
	ActorType      string         `bun:"actor_type" json:"actor_type"`
	ActorID        string         `bun:"actor_id" json:"actor_id,omitempty"`
	CreatedAt      time.Time      `bun:"created_at" json:"created_at"`

	// Replayed is set on the entry Post returns for a repeated key.
	Replayed bool `bun:"-" json:"-"`
}

// balanceRow is an account's running balance.
type balanceRow struct {
	bun.BaseModel `bun:"table:credit_balances"`

	AccountID string         `bun:"account_id,pk"`
	Currency  money.Currency `bun:"currency"`
	Balance   int64          `bun:"balance"`
	LastSeq   int64          `bun:"last_seq"`
	UpdatedAt time.Time      `bun:"updated_at"`
}

// Posting is one change of credit.
type Posting struct {
	AccountID string
	Currency  money.Currency
	// Amount is signed: positive credits, negative debits; never zero.
	Amount int64
	Kind   Kind
	// InvoiceID links invoice payments and invoice credits.
	InvoiceID string
	// Reference names the source (a payment, top-up or refund id).
	Reference string
	// IdempotencyKey, when set, makes the posting happen at most once per
	// account.
	IdempotencyKey string
	Description    string
}

// ErrInsufficientCredit refuses a debit larger than the balance.
var ErrInsufficientCredit = apperr.New(apperr.PaymentRequired, "the account's credit does not cover this amount").WithReason("insufficient_credit")

// Hook runs in the posting's transaction after an entry is appended (not
// for replays). An error rolls the transaction back.
type Hook func(ctx context.Context, tx bun.Tx, e *Entry) error

// Ledger posts and reads credit.
type Ledger struct {
	db    *database.DB
	now   func() time.Time
	hooks []Hook
}

// New returns a ledger over db; now may be nil (the wall clock).
func New(db *database.DB, now func() time.Time) *Ledger {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Ledger{db: db, now: now}
}

// AddHook registers h; call it while wiring, before any posting.
func (l *Ledger) AddHook(h Hook) { l.hooks = append(l.hooks, h) }

func (p Posting) validate() error {
	var errs apperr.Fields
	if p.AccountID == "" {
		errs.Add("account_id", "is required")
	}
	if !p.Currency.Valid() {
		errs.Add("currency", "must be an ISO 4217 code")
	}
	sign, known := kindSign[p.Kind]
	switch {
	case !known:
		errs.Add("kind", "unknown ledger entry kind %q", p.Kind)
	case p.Amount == 0:
		errs.Add("amount", "must not be zero")
	case sign > 0 && p.Amount < 0, sign < 0 && p.Amount > 0:
		errs.Add("amount", "has the wrong sign for a %s entry", p.Kind)
	}
	if err := money.CheckAmount(p.Amount); err != nil {
		errs.Add("amount", "is too large")
	}
	if len(p.IdempotencyKey) > 255 {
		errs.Add("idempotency_key", "must be at most 255 characters")
	}
	return errs.Err()
}

// ensure creates the account's balance row when it has none.
func ensure(ctx context.Context, tx bun.Tx, accountID string, cur money.Currency, now time.Time) error {
	_, err := tx.NewInsert().Model(&balanceRow{AccountID: accountID, Currency: cur, UpdatedAt: now}).
		On("CONFLICT (account_id) DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("ledger: creating balance of %s: %w", accountID, err)
	}
	return nil
}

// Lock takes the account's balance row lock for the rest of tx (creating
// the row in currency cur when missing) and returns the balance. Callers
// that read the balance to decide how much to debit hold it first.
// Errors: Conflict when the account's credit is in another currency.
func (l *Ledger) Lock(ctx context.Context, tx bun.Tx, accountID string, cur money.Currency) (int64, error) {
	if err := ensure(ctx, tx, accountID, cur, l.now()); err != nil {
		return 0, err
	}
	row := &balanceRow{}
	// A no-op UPDATE takes the row lock on PostgreSQL; SQLite's write
	// transactions are already exclusive.
	err := tx.NewUpdate().Model(row).Set("balance = balance").Where("account_id = ?", accountID).
		Returning("currency, balance, last_seq").Scan(ctx)
	if err != nil {
		return 0, fmt.Errorf("ledger: locking balance of %s: %w", accountID, err)
	}
	if row.Currency != cur {
		return 0, currencyConflict(row.Currency, cur)
	}
	return row.Balance, nil
}

func currencyConflict(have, want money.Currency) error {
	return apperr.New(apperr.Conflict, "the account's credit is kept in %s, not %s", have, want).WithReason("currency_mismatch")
}

// Post appends one entry inside tx and moves the account's balance.
// With an IdempotencyKey already used by the account it returns the first
// entry (Replayed set) and changes nothing. Errors: Invalid (the posting),
// PaymentRequired (ErrInsufficientCredit), Conflict (currency).
func (l *Ledger) Post(ctx context.Context, tx bun.Tx, p Posting) (*Entry, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	now := l.now()
	if err := ensure(ctx, tx, p.AccountID, p.Currency, now); err != nil {
		return nil, err
	}
	if p.IdempotencyKey != "" {
		if _, err := l.Lock(ctx, tx, p.AccountID, p.Currency); err != nil {
			return nil, err
		}
		prev := &Entry{}
		err := tx.NewSelect().Model(prev).Where("account_id = ?", p.AccountID).Where("idempotency_key = ?", p.IdempotencyKey).Scan(ctx)
		if err == nil {
			prev.Replayed = true
			return prev, nil
		}
		if !database.IsNoRows(err) {
			return nil, fmt.Errorf("ledger: looking up key: %w", err)
		}
	}
	row := &balanceRow{}
	err := tx.NewUpdate().Model(row).
		Set("balance = balance + ?", p.Amount).Set("last_seq = last_seq + 1").Set("updated_at = ?", now).
		Where("account_id = ?", p.AccountID).Where("currency = ?", p.Currency).Where("balance + ? >= 0", p.Amount).
		Returning("balance, last_seq").Scan(ctx)
	if database.IsNoRows(err) {
		cur := &balanceRow{}
		if err := tx.NewSelect().Model(cur).Where("account_id = ?", p.AccountID).Scan(ctx); err != nil {
			return nil, fmt.Errorf("ledger: reading balance of %s: %w", p.AccountID, err)
		}
		if cur.Currency != p.Currency {
			return nil, currencyConflict(cur.Currency, p.Currency)
		}
		return nil, ErrInsufficientCredit
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: moving balance of %s: %w", p.AccountID, err)
	}
	meta := audit.MetaFrom(ctx)
	e := &Entry{
		ID: uuid.Must(uuid.NewV7()).String(), AccountID: p.AccountID, Seq: row.LastSeq, Kind: p.Kind,
		Amount: p.Amount, Currency: p.Currency, BalanceAfter: row.Balance, Reference: p.Reference,
		Description: p.Description, ActorType: meta.ActorType, ActorID: meta.ActorID, CreatedAt: now,
	}
	if p.InvoiceID != "" {
		e.InvoiceID = &p.InvoiceID
	}
	if p.IdempotencyKey != "" {
		e.IdempotencyKey = &p.IdempotencyKey
	}
	if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
		return nil, fmt.Errorf("ledger: appending %s entry for %s: %w", p.Kind, p.AccountID, err)
	}
	for _, h := range l.hooks {
		if err := h(ctx, tx, e); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Balance is an account's credit.
type Balance struct {
	AccountID string         `json:"account_id"`
	Amount    int64          `json:"amount"`
	Currency  money.Currency `json:"currency"`
	// Entries is the number of entries (the last sequence number).
	Entries   int64     `json:"entries"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Balance returns the account's credit; an account that never had any has
// a zero balance in currency def.
func (l *Ledger) Balance(ctx context.Context, accountID string, def money.Currency) (Balance, error) {
	row := &balanceRow{}
	err := l.db.Conn(ctx).NewSelect().Model(row).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return Balance{AccountID: accountID, Currency: def}, nil
	}
	if err != nil {
		return Balance{}, fmt.Errorf("ledger: reading balance of %s: %w", accountID, err)
	}
	return Balance{AccountID: accountID, Amount: row.Balance, Currency: row.Currency, Entries: row.LastSeq, UpdatedAt: row.UpdatedAt}, nil
}

// Entries lists an account's entries newest first, before sequence
// number before (0 = from the newest), at most limit.
func (l *Ledger) Entries(ctx context.Context, accountID string, before int64, limit int) ([]Entry, error) {
	var out []Entry
	q := l.db.Conn(ctx).NewSelect().Model(&out).Where("account_id = ?", accountID).Order("seq DESC").Limit(int64(limit))
	if before > 0 {
		q = q.Where("seq < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("ledger: listing entries of %s: %w", accountID, err)
	}
	return out, nil
}

// Verify checks that the account's balance equals the sum of its entries,
// that its sequence has no gap, and that no running balance was negative.
// It reads everything in one statement, so one snapshot, and is safe to
// run while postings happen.
func (l *Ledger) Verify(ctx context.Context, accountID string) error {
	var got struct {
		Balance int64 `bun:"balance"`
		LastSeq int64 `bun:"last_seq"`
		Sum     int64 `bun:"s"`
		Count   int64 `bun:"n"`
		MaxSeq  int64 `bun:"m"`
		MinBal  int64 `bun:"b"`
	}
	err := l.db.Conn(ctx).NewSelect().TableExpr("credit_balances AS cb").
		ColumnExpr("cb.balance, cb.last_seq").
		ColumnExpr("(SELECT COALESCE(SUM(e.amount), 0) FROM credit_entries e WHERE e.account_id = cb.account_id) AS s").
		ColumnExpr("(SELECT COUNT(*) FROM credit_entries e WHERE e.account_id = cb.account_id) AS n").
		ColumnExpr("(SELECT COALESCE(MAX(e.seq), 0) FROM credit_entries e WHERE e.account_id = cb.account_id) AS m").
		ColumnExpr("(SELECT COALESCE(MIN(e.balance_after), 0) FROM credit_entries e WHERE e.account_id = cb.account_id) AS b").
		Where("cb.account_id = ?", accountID).Scan(ctx, &got)
	if database.IsNoRows(err) {
		return nil // never posted
	}
	if err != nil {
		return fmt.Errorf("ledger: summing entries of %s: %w", accountID, err)
	}
	switch {
	case got.Balance != got.Sum:
		return fmt.Errorf("ledger: %s: balance %d but entries sum to %d", accountID, got.Balance, got.Sum)
	case got.Count != got.MaxSeq || got.LastSeq != got.MaxSeq:
		return fmt.Errorf("ledger: %s: %d entries, last seq %d, balance row says %d", accountID, got.Count, got.MaxSeq, got.LastSeq)
	case got.MinBal < 0 || got.Balance < 0:
		return fmt.Errorf("ledger: %s: a negative balance was recorded", accountID)
	}
	return nil
}

// Position is the sequence number of the account's last entry as db sees
// it (the caller's transaction, or a pool); 0 before its first.
func (l *Ledger) Position(ctx context.Context, db bun.IDB, accountID string) (int64, error) {
	var seq int64
	err := db.NewSelect().Model((*balanceRow)(nil)).Column("last_seq").Where("account_id = ?", accountID).Scan(ctx, &seq)
	if err != nil && !database.IsNoRows(err) {
		return 0, fmt.Errorf("ledger: reading the position of %s: %w", accountID, err)
	}
	return seq, nil
}

// Sum adds up the amounts of the account's entries in cur of the given
// kinds created in [from, to), as db sees them.
func (l *Ledger) Sum(ctx context.Context, db bun.IDB, accountID string, cur money.Currency, kinds []Kind, from, to time.Time) (int64, error) {
	var sum int64
	err := db.NewSelect().Model((*Entry)(nil)).ColumnExpr("COALESCE(SUM(amount), 0)").
		Where("account_id = ?", accountID).Where("currency = ?", cur).Where("kind IN (?)", bun.List(kinds)).
		Where("created_at >= ?", from).Where("created_at < ?", to).Scan(ctx, &sum)
	if err != nil {
		return 0, fmt.Errorf("ledger: summing entries of %s: %w", accountID, err)
	}
	return sum, nil
}

// Currency is the account's credit currency as db sees it; "" when the
// account never had credit.
func (l *Ledger) Currency(ctx context.Context, db bun.IDB, accountID string) (money.Currency, error) {
	var cur string
	err := db.NewSelect().Model((*balanceRow)(nil)).Column("currency").Where("account_id = ?", accountID).Scan(ctx, &cur)
	if err != nil && !database.IsNoRows(err) {
		return "", fmt.Errorf("ledger: reading the currency of %s: %w", accountID, err)
	}
	return money.Currency(cur), nil
}

// Balances returns the balance of each of accountIDs as db sees it; an
// account that never had credit is missing (a zero balance).
func (l *Ledger) Balances(ctx context.Context, db bun.IDB, accountIDs []string) (map[string]Balance, error) {
	out := make(map[string]Balance, len(accountIDs))
	if len(accountIDs) == 0 {
		return out, nil
	}
	var rows []balanceRow
	if err := db.NewSelect().Model(&rows).Where("account_id IN (?)", bun.List(accountIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("ledger: reading balances: %w", err)
	}
	for _, r := range rows {
		out[r.AccountID] = Balance{AccountID: r.AccountID, Amount: r.Balance, Currency: r.Currency, Entries: r.LastSeq, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

// FollowCurrency moves an account's empty balance to currency cur in tx
// (the account's billing currency changed); a balance holding credit keeps
// its currency, and an account without one is left alone.
func (l *Ledger) FollowCurrency(ctx context.Context, tx bun.Tx, accountID string, cur money.Currency) error {
	if _, err := tx.NewUpdate().Model((*balanceRow)(nil)).Set("currency = ?", cur).
		Where("account_id = ?", accountID).Where("balance = 0").Exec(ctx); err != nil {
		return fmt.Errorf("ledger: moving the balance of %s to %s: %w", accountID, cur, err)
	}
	return nil
}
