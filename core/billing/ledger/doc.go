// Package ledger is the account credit ledger: append-only entries whose
// sum is an account's balance, which never goes negative.
//
// Every change of credit is one Post inside the caller's transaction, so a
// credit or debit commits together with whatever caused it (a payment, an
// invoice it pays, a refund). Entries are never updated or deleted: the
// database refuses it (triggers on both dialects), and corrections are new
// entries (an adjustment, a refund reversal).
//
// Concurrency: each account has one running-balance row in credit_balances.
// Post moves it with a conditional UPDATE (balance + amount >= 0), which
// takes the row lock, so postings to one account serialise across replicas
// and a debit that would go negative matches nothing and is refused with
// ErrInsufficientCredit. The entry records the balance after it and a
// per-account sequence number taken under the same lock, so entries are
// totally ordered and balance_after is exact. CHECK constraints
// (balance >= 0, balance_after >= 0) are the last line of defence. Lock
// holds the row for a caller that must read the balance and then decide
// (applying credit to invoices).
//
// Idempotency: a posting with an IdempotencyKey is applied at most once per
// account (a unique index); a repeat, even concurrent, returns the first
// entry with Replayed set and changes nothing. The key is checked under the
// balance-row lock, so a concurrent duplicate waits for the first and then
// sees it.
//
// Hooks run inside the posting's transaction after each entry (auto top-up
// checks after debits, budget caps).
//
// Stable API for other domains: Post, Lock, Balance, Entries, Verify and
// AddHook.
package ledger
