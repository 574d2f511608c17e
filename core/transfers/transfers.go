package transfers

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
)

// RequestInput asks to move a service to another account.
type RequestInput struct {
	ServiceID string `json:"service_id"`
	// Email is the receiver's: the receiving account is the one that user
	// owns.
	Email string `json:"email"`
	// ToAccountID names the receiving account when the user owns several
	// (required then; otherwise optional and checked).
	ToAccountID string `json:"to_account_id"`
	Note        string `json:"note"`
}

// maxNote bounds the sender's note and a decision's reason.
const maxNote = 500

func refuse(code apperr.Code, field, reason, format string, args ...any) *apperr.Error {
	e := apperr.New(code, format, args...).WithReason(reason)
	e.Fields = []apperr.FieldError{{Field: field, Message: e.Message}}
	return e
}

// Request asks the receiving account to take a service of a's account
// (owners and admins, by the route table). Errors: Invalid (service_id,
// email, note); Unprocessable naming the field and rule: receiver_not_found
// (email), receiver_ambiguous and not_owned (to_account_id), and billing's
// refusals (same_account, service_suspended, budget_stopped, free_tier,
// service_not_active, cancel_at_period_end, open_invoice,
// currency_mismatch, no_payment_method); NotFound (service_id: another
// account's or no service); Conflict transfer_open (service_id: the
// service is already in an open transfer).
func (s *Service) Request(ctx context.Context, a Actor, in RequestInput) (*Transfer, error) {
	var errs apperr.Fields
	if in.ServiceID == "" {
		errs.Add("service_id", "is required")
	}
	email := strings.ToLower(strings.TrimSpace(in.Email))
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		errs.Add("email", "must be an email address")
	}
	if utf8.RuneCountInString(in.Note) > maxNote {
		errs.Add("note", "must be at most %d characters", maxNote)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	owned, err := s.dir.OwnedAccounts(ctx, email)
	if err != nil {
		return nil, err
	}
	var to *Account
	switch {
	case len(owned) == 0:
		return nil, refuse(apperr.Unprocessable, "email", "receiver_not_found", "no account is owned by a user with this email")
	case in.ToAccountID != "":
		for i := range owned {
			if owned[i].ID == in.ToAccountID {
				to = &owned[i]
			}
		}
		if to == nil {
			return nil, refuse(apperr.Unprocessable, "to_account_id", "not_owned", "the user with this email does not own this account")
		}
	case len(owned) > 1:
		return nil, refuse(apperr.Unprocessable, "to_account_id", "receiver_ambiguous",
			"the user with this email owns %d accounts: name the receiving one", len(owned))
	default:
		to = &owned[0]
	}
	facts, err := s.billing.CheckTransfer(ctx, in.ServiceID, a.AccountID, to.ID)
	if err != nil {
		return nil, err
	}
	fromName, err := s.dir.AccountName(ctx, a.AccountID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	tr := &Transfer{
		ID: newID(), ServiceID: facts.ServiceID, FromAccountID: a.AccountID, ToAccountID: to.ID, ReceiverEmail: email,
		Status: StatusPending, ServiceLabel: facts.Label, PlanName: facts.PlanName, Note: in.Note, RequestedBy: a.UserID,
		Currency: string(facts.Currency), ExpiresAt: now.Add(s.opts.TTL), CreatedAt: now, UpdatedAt: now,
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		busy, err := tx.NewSelect().Model((*Transfer)(nil)).Where("service_id = ?", tr.ServiceID).
			Where("status IN (?)", bun.List(open)).Where("expires_at > ?", now).Exists(ctx)
		if err != nil {
			return fmt.Errorf("transfers: looking for open transfers of %s: %w", tr.ServiceID, err)
		}
		if busy {
			return errBusy()
		}
		// An open transfer past its expiry that the sweep has not marked
		// yet gives way to the new one.
		if _, err := tx.NewUpdate().Model((*Transfer)(nil)).Set("status = ?", StatusExpired).Set("ended_at = ?", now).
			Set("updated_at = ?", now).Where("service_id = ?", tr.ServiceID).Where("status IN (?)", bun.List(open)).Exec(ctx); err != nil {
			return fmt.Errorf("transfers: expiring the old transfer of %s: %w", tr.ServiceID, err)
		}
		if _, err := tx.NewInsert().Model(tr).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return errBusy()
			}
			return fmt.Errorf("transfers: recording transfer: %w", err)
		}
		if err := s.tell(ctx, tx, s.event(notify.TransferRequested, tr, to.ID, fromName, to.Name, now)); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "transfer.request", AccountID: a.AccountID, TargetType: "transfer", TargetID: tr.ID,
			Changes: map[string]any{"service_id": tr.ServiceID, "to_account_id": tr.ToAccountID, "expires_at": tr.ExpiresAt}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return tr, nil
}

func errBusy() error {
	return refuse(apperr.Conflict, "service_id", "transfer_open", "the service is already in an open transfer")
}

// event is a notification about tr to account accountID.
func (s *Service) event(typ notify.Type, tr *Transfer, accountID, fromName, toName string, now time.Time) notify.Event {
	name := tr.ServiceLabel
	if name == "" {
		name = tr.PlanName
	}
	return notify.Event{Type: typ, AccountID: accountID, Link: "/transfers/" + tr.ID,
		Key: fmt.Sprintf("%s:%s:%s:%s", typ, tr.ID, accountID, tr.State(now)),
		Data: map[string]any{
			"transfer_id": tr.ID, "service_id": tr.ServiceID, "service_name": name, "plan": tr.PlanName,
			"from_account": fromName, "to_account": toName, "direction": tr.Direction(accountID), "status": tr.State(now),
			"reason": tr.Reason, "expires_at": tr.ExpiresAt.Format(time.RFC3339),
		}}
}

// names returns the display names of the transfer's two accounts.
func (s *Service) names(ctx context.Context, tr *Transfer) (string, string, error) {
	from, err := s.dir.AccountName(ctx, tr.FromAccountID)
	if err != nil {
		return "", "", err
	}
	to, err := s.dir.AccountName(ctx, tr.ToAccountID)
	return from, to, err
}

// Filter selects an account's transfers.
type Filter struct {
	// Direction: "incoming", "outgoing" or "" (both).
	Direction string
	// Status: one of the statuses or "" (any); "expired" includes open
	// transfers past their expiry.
	Status string
	After  string
	Limit  int
}

func (s *Service) filter(q *bun.SelectQuery, status string, now time.Time) (*bun.SelectQuery, error) {
	switch status {
	case "":
	case StatusPending, StatusAccepted:
		q = q.Where("status = ?", status).Where("expires_at > ?", now)
	case StatusExpired:
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("status = ?", StatusExpired).WhereGroup(" OR ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("status IN (?)", bun.List(open)).Where("expires_at <= ?", now)
			})
		})
	case StatusCompleted, StatusDeclined, StatusCancelled, StatusRejected:
		q = q.Where("status = ?", status)
	default:
		return nil, apperr.Field("status", "must be pending, accepted, completed, declined, cancelled, rejected or expired")
	}
	return q, nil
}

// List returns the transfers from or to a's account, newest first (ids
// are time-ordered), after the cursor (the last id of the previous page).
func (s *Service) List(ctx context.Context, a Actor, f Filter) ([]Transfer, error) {
	q := s.db.Conn(ctx).NewSelect().Model((*Transfer)(nil))
	switch f.Direction {
	case "":
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("from_account_id = ?", a.AccountID).WhereOr("to_account_id = ?", a.AccountID)
		})
	case "outgoing":
		q = q.Where("from_account_id = ?", a.AccountID)
	case "incoming":
		q = q.Where("to_account_id = ?", a.AccountID)
	default:
		return nil, apperr.Field("direction", "must be incoming or outgoing")
	}
	return s.page(ctx, q, f.Status, f.After, f.Limit)
}

// StaffFilter selects transfers for the staff queue.
type StaffFilter struct {
	// Status: as Filter's; the queue's default view is "accepted" (waiting
	// for staff).
	Status string
	After  string
	Limit  int
}

// Queue returns every account's transfers for staff.
func (s *Service) Queue(ctx context.Context, f StaffFilter) ([]Transfer, error) {
	return s.page(ctx, s.db.Conn(ctx).NewSelect().Model((*Transfer)(nil)), f.Status, f.After, f.Limit)
}

func (s *Service) page(ctx context.Context, q *bun.SelectQuery, status, after string, limit int) ([]Transfer, error) {
	q, err := s.filter(q, status, s.now())
	if err != nil {
		return nil, err
	}
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if limit <= 0 {
		limit = 50
	}
	var out []Transfer
	if err := q.Order("id DESC").Limit(int64(limit)).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("transfers: listing transfers: %w", err)
	}
	now := s.now()
	for i := range out {
		out[i].Status = out[i].State(now)
	}
	return out, nil
}

// Get returns a transfer from or to a's account, its Status as at now (an
// open one past its expiry is expired). Errors: NotFound.
func (s *Service) Get(ctx context.Context, a Actor, id string) (*Transfer, error) {
	return s.present(s.load(ctx, s.db.Conn(ctx), a, id, false))
}

// StaffGet returns any transfer, as Get. Errors: NotFound.
func (s *Service) StaffGet(ctx context.Context, id string) (*Transfer, error) {
	return s.present(s.load(ctx, s.db.Conn(ctx), Actor{Staff: true}, id, false))
}

func (s *Service) present(tr *Transfer, err error) (*Transfer, error) {
	if err != nil {
		return nil, err
	}
	tr.Status = tr.State(s.now())
	return tr, nil
}

// load is the one place that decides whether a may see transfer id: the
// sending and the receiving account may (staff through the staff routes);
// any other account's caller gets NotFound.
func (s *Service) load(ctx context.Context, db bun.IDB, a Actor, id string, lock bool) (*Transfer, error) {
	tr := &Transfer{}
	q := db.NewSelect().Model(tr).Where("id = ?", id)
	if a.AccountID != "" {
		q = q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("from_account_id = ?", a.AccountID).WhereOr("to_account_id = ?", a.AccountID)
		})
	} else if !a.Staff {
		return nil, apperr.NotFoundf("no such transfer")
	}
	if lock && !s.db.IsSQLite() {
		q = q.For("UPDATE")
	}
	err := q.Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such transfer")
	}
	if err != nil {
		return nil, fmt.Errorf("transfers: loading transfer %s: %w", id, err)
	}
	return tr, nil
}

// wrongState is the Conflict of an action the transfer's state at now does
// not allow.
func wrongState(tr *Transfer, now time.Time, action string) error {
	st := tr.State(now)
	return apperr.New(apperr.Conflict, "a transfer that is %s cannot be %s", st, action).WithReason("transfer_" + st)
}

// DecisionInput is a decline's or a rejection's reason.
type DecisionInput struct {
	Reason string `json:"reason"`
}

func (in DecisionInput) check(required bool) error {
	switch {
	case required && strings.TrimSpace(in.Reason) == "":
		return apperr.Field("reason", "is required")
	case utf8.RuneCountInString(in.Reason) > maxNote:
		return apperr.Field("reason", "must be at most %d characters", maxNote)
	}
	return nil
}

// Accept accepts a pending transfer to a's account (owners and admins).
// With transfers.require_staff_approval it then waits for staff; without,
// it completes now (see complete). Errors: NotFound (another account's
// transfer, or a's is the sending account), Conflict transfer_<state>,
// billing's refusals when the service can no longer move, and
// Unprocessable receiver_budget_stopped when the service would push the
// receiving account over its hard budget cap (checked again when staff
// approve).
func (s *Service) Accept(ctx context.Context, a Actor, id string) (*Transfer, error) {
	var out *Transfer
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		tr, err := s.load(ctx, tx, a, id, true)
		if err != nil {
			return err
		}
		if tr.ToAccountID != a.AccountID {
			return apperr.NotFoundf("no such transfer")
		}
		now := s.now()
		if tr.State(now) != StatusPending {
			return wrongState(tr, now, "accepted")
		}
		tr.AcceptedBy, tr.AcceptedAt, tr.UpdatedAt = a.UserID, &now, now
		if !s.opts.RequireStaffApproval {
			out = tr
			return s.complete(ctx, tx, tr, now)
		}
		if _, err := s.billing.CheckTransfer(ctx, tr.ServiceID, tr.FromAccountID, tr.ToAccountID); err != nil {
			return err
		}
		if err := s.billing.AdmitTransferTx(ctx, tx, tr.ServiceID, tr.ToAccountID); err != nil {
			return err
		}
		tr.Status = StatusAccepted
		if _, err := tx.NewUpdate().Model(tr).WherePK().Column("status", "accepted_by", "accepted_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("transfers: accepting %s: %w", tr.ID, err)
		}
		out = tr
		if err := s.tellBoth(ctx, tx, notify.TransferUpdated, tr, now, true, false); err != nil {
			return err
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "transfer.accept", AccountID: a.AccountID, TargetType: "transfer", TargetID: tr.ID,
			Changes: map[string]any{"service_id": tr.ServiceID, "from_account_id": tr.FromAccountID}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Decline declines a pending transfer to a's account. Errors: NotFound,
// Invalid (reason), Conflict transfer_<state>.
func (s *Service) Decline(ctx context.Context, a Actor, id string, in DecisionInput) (*Transfer, error) {
	if err := in.check(false); err != nil {
		return nil, err
	}
	return s.end(ctx, a, id, StatusDeclined, in.Reason, func(tr *Transfer, now time.Time) error {
		if tr.ToAccountID != a.AccountID {
			return apperr.NotFoundf("no such transfer")
		}
		if tr.State(now) != StatusPending {
			return wrongState(tr, now, "declined")
		}
		return nil
	})
}

// Cancel cancels a transfer from a's account until it is approved (while
// pending or accepted). Errors: NotFound, Conflict transfer_<state>.
func (s *Service) Cancel(ctx context.Context, a Actor, id string) (*Transfer, error) {
	return s.end(ctx, a, id, StatusCancelled, "", func(tr *Transfer, now time.Time) error {
		if tr.FromAccountID != a.AccountID {
			return apperr.NotFoundf("no such transfer")
		}
		if !tr.isOpen() || tr.State(now) == StatusExpired {
			return wrongState(tr, now, "cancelled")
		}
		return nil
	})
}

// Reject rejects, as staff, a transfer waiting for approval (or still
// pending). Errors: NotFound, Invalid (reason is required), Conflict
// transfer_<state>.
func (s *Service) Reject(ctx context.Context, staffUserID, id string, in DecisionInput) (*Transfer, error) {
	if err := in.check(true); err != nil {
		return nil, err
	}
	return s.end(ctx, Actor{UserID: staffUserID, Staff: true}, id, StatusRejected, in.Reason, func(tr *Transfer, now time.Time) error {
		if !tr.isOpen() || tr.State(now) == StatusExpired {
			return wrongState(tr, now, "rejected")
		}
		return nil
	})
}

// end moves a transfer to a final state other than completed, after check.
func (s *Service) end(ctx context.Context, a Actor, id, status, reason string, check func(*Transfer, time.Time) error) (*Transfer, error) {
	var out *Transfer
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		tr, err := s.load(ctx, tx, a, id, true)
		if err != nil {
			return err
		}
		now := s.now()
		if err := check(tr, now); err != nil {
			return err
		}
		tr.Status, tr.DecidedBy, tr.Reason, tr.EndedAt, tr.UpdatedAt = status, a.UserID, reason, &now, now
		if _, err := tx.NewUpdate().Model(tr).WherePK().Column("status", "decided_by", "reason", "ended_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("transfers: marking %s %s: %w", tr.ID, status, err)
		}
		out = tr
		// The other side is told; staff decisions and expiry reach both.
		toSender, toReceiver := a.Staff || a.AccountID != tr.FromAccountID, a.Staff || a.AccountID != tr.ToAccountID
		if err := s.tellBoth(ctx, tx, notify.TransferUpdated, tr, now, toSender, toReceiver); err != nil {
			return err
		}
		accountID := a.AccountID
		if a.Staff {
			accountID = tr.FromAccountID
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "transfer." + map[string]string{
			StatusDeclined: "decline", StatusCancelled: "cancel", StatusRejected: "reject", StatusExpired: "expire"}[status],
			AccountID: accountID, TargetType: "transfer", TargetID: tr.ID,
			Changes: map[string]any{"service_id": tr.ServiceID, "to_account_id": tr.ToAccountID, "reason": reason}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// tellBoth notifies the sending and/or the receiving account about tr.
func (s *Service) tellBoth(ctx context.Context, tx bun.Tx, typ notify.Type, tr *Transfer, now time.Time, sender, receiver bool) error {
	from, to, err := s.names(ctx, tr)
	if err != nil {
		return err
	}
	if sender {
		if err := s.tell(ctx, tx, s.event(typ, tr, tr.FromAccountID, from, to, now)); err != nil {
			return err
		}
	}
	if receiver {
		return s.tell(ctx, tx, s.event(typ, tr, tr.ToAccountID, from, to, now))
	}
	return nil
}

// Approve approves, as staff, an accepted transfer, which completes it.
// Approving a completed transfer again (a retry, a replay, a second staff
// member racing the first) returns it unchanged: nothing moves or is
// credited twice. Errors: NotFound, Conflict transfer_<state> (pending:
// the receiver has not accepted; ended ones), billing's refusals when the
// service can no longer move.
func (s *Service) Approve(ctx context.Context, staffUserID, id string) (*Transfer, error) {
	var out *Transfer
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		tr, err := s.load(ctx, tx, Actor{UserID: staffUserID, Staff: true}, id, true)
		if err != nil {
			return err
		}
		out = tr
		now := s.now()
		switch tr.State(now) {
		case StatusCompleted:
			return nil
		case StatusAccepted:
		default:
			return wrongState(tr, now, "approved")
		}
		tr.DecidedBy = staffUserID
		return s.complete(ctx, tx, tr, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// complete moves the service in tx: billing's move and proration, every
// registered domain's move, the transfer marked completed, both accounts
// told and the change audited. The caller holds tr's row (locked on
// PostgreSQL; SQLite has one writer) and has checked it is open.
func (s *Service) complete(ctx context.Context, tx bun.Tx, tr *Transfer, now time.Time) error {
	// Checked again: the receiver's spend may have grown since it accepted.
	if err := s.billing.AdmitTransferTx(ctx, tx, tr.ServiceID, tr.ToAccountID); err != nil {
		return err
	}
	st, err := s.billing.TransferServiceTx(ctx, tx, billing.TransferMove{TransferID: tr.ID, ServiceID: tr.ServiceID, From: tr.FromAccountID, To: tr.ToAccountID})
	if err != nil {
		return err
	}
	moves := map[string]any{}
	for _, m := range s.movers {
		res, err := m.fn(ctx, tx, tr.ServiceID, tr.FromAccountID, tr.ToAccountID)
		if err != nil {
			return err
		}
		moves[m.name] = res
	}
	tr.Status, tr.CompletedAt, tr.UpdatedAt = StatusCompleted, &now, now
	tr.Prorated, tr.DaysLeft, tr.DaysInCycle = st.Amount, st.DaysLeft, st.DaysInCycle
	if st.Invoice != nil {
		tr.ReceiverInvoiceID = st.Invoice.ID
	}
	res, err := tx.NewUpdate().Model(tr).WherePK().Where("status IN (?)", bun.List(open)).
		Column("status", "accepted_by", "accepted_at", "decided_by", "completed_at", "prorated", "days_left", "days_in_cycle",
			"receiver_invoice_id", "updated_at").Exec(ctx)
	if err != nil {
		return fmt.Errorf("transfers: completing %s: %w", tr.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		// Never reached while the row is held; a guard against moving twice.
		return apperr.New(apperr.Conflict, "the transfer changed meanwhile").WithReason("transfer_changed")
	}
	from, to, err := s.names(ctx, tr)
	if err != nil {
		return err
	}
	for _, acc := range []string{tr.FromAccountID, tr.ToAccountID} {
		ev := s.event(notify.TransferCompleted, tr, acc, from, to, now)
		ev.Data["amount"], ev.Data["currency"] = st.Amount, tr.Currency
		if acc == tr.ToAccountID {
			ev.Link = "/services/" + tr.ServiceID
			if st.Invoice != nil {
				ev.Data["invoice_id"] = st.Invoice.ID
			}
		}
		if err := s.tell(ctx, tx, ev); err != nil {
			return err
		}
	}
	changes := map[string]any{"service_id": tr.ServiceID, "from_account_id": tr.FromAccountID, "to_account_id": tr.ToAccountID,
		"prorated": st.Amount, "days_left": st.DaysLeft, "days_in_cycle": st.DaysInCycle, "receiver_invoice_id": tr.ReceiverInvoiceID, "moved": moves}
	for _, acc := range []string{tr.FromAccountID, tr.ToAccountID} {
		if _, err := audit.Append(ctx, tx, audit.Event{Action: "transfer.complete", AccountID: acc, TargetType: "transfer", TargetID: tr.ID, Changes: changes}); err != nil {
			return err
		}
	}
	return nil
}
