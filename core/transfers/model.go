package transfers

import (
	"time"

	"github.com/uptrace/bun"
)

// Statuses of a transfer (see the package documentation for the graph).
const (
	StatusPending   = "pending"
	StatusAccepted  = "accepted"
	StatusCompleted = "completed"
	StatusDeclined  = "declined"
	StatusCancelled = "cancelled"
	StatusRejected  = "rejected"
	StatusExpired   = "expired"
)

// open are the statuses a transfer can still leave.
var open = []string{StatusPending, StatusAccepted}

// Transfer is a request to move a service to another account.
type Transfer struct {
	bun.BaseModel `bun:"table:service_transfers"`

	ID            string `bun:"id,pk"`
	ServiceID     string `bun:"service_id"`
	FromAccountID string `bun:"from_account_id"`
	ToAccountID   string `bun:"to_account_id"`
	ReceiverEmail string `bun:"receiver_email"`
	// Status as stored; an open transfer past ExpiresAt is expired even
	// before the sweep marks it (see State).
	Status       string `bun:"status"`
	ServiceLabel string `bun:"service_label"`
	PlanName     string `bun:"plan_name"`
	Note         string `bun:"note"`
	RequestedBy  string `bun:"requested_by"`
	AcceptedBy   string `bun:"accepted_by"`
	DecidedBy    string `bun:"decided_by"`
	Reason       string `bun:"reason"`
	// The settlement, once completed: the sender's credit and the
	// receiver's invoice (same amount, the unused paid days).
	Currency          string     `bun:"currency"`
	Prorated          int64      `bun:"prorated"`
	DaysLeft          int        `bun:"days_left"`
	DaysInCycle       int        `bun:"days_in_cycle"`
	ReceiverInvoiceID string     `bun:"receiver_invoice_id"`
	ExpiresAt         time.Time  `bun:"expires_at"`
	AcceptedAt        *time.Time `bun:"accepted_at"`
	CompletedAt       *time.Time `bun:"completed_at"`
	EndedAt           *time.Time `bun:"ended_at"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
}

// State is the transfer's status at now: an open transfer past its expiry
// is expired.
func (t *Transfer) State(now time.Time) string {
	if t.isOpen() && !now.Before(t.ExpiresAt) {
		return StatusExpired
	}
	return t.Status
}

func (t *Transfer) isOpen() bool { return t.Status == StatusPending || t.Status == StatusAccepted }

// Direction is "outgoing" for the sending account and "incoming" for the
// receiving one.
func (t *Transfer) Direction(accountID string) string {
	if accountID == t.FromAccountID {
		return "outgoing"
	}
	return "incoming"
}
