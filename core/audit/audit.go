package audit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// Results of an audited action.
const (
	Success = "success"
	Failure = "failure"
	Denied  = "denied"
)

// Actor types.
const (
	ActorUser      = "user"
	ActorStaff     = "staff"
	ActorAPIToken  = "api_token"
	ActorSystem    = "system"
	ActorAnonymous = "anonymous"
)

// Meta is what the request knows about who is acting and from where. The
// HTTP layer puts it in the context; jobs use a system actor.
type Meta struct {
	ActorType string
	ActorID   string
	RequestID string
	IP        string
	UserAgent string
	// Approval is set while a held request runs after a second staff
	// member approved it (core/approval): every event the request writes
	// then names the approval, its approval event and the approver.
	Approval *ApprovalRef
}

// ApprovalRef points an executed action's events at its approval.
type ApprovalRef struct {
	ID         string
	EventID    string
	ApprovedBy string
}

type metaKey struct{}

// WithMeta attaches m to ctx.
func WithMeta(ctx context.Context, m Meta) context.Context {
	return context.WithValue(ctx, metaKey{}, m)
}

// MetaFrom returns the request's meta, or a system actor outside requests.
func MetaFrom(ctx context.Context) Meta {
	if m, ok := ctx.Value(metaKey{}).(Meta); ok {
		return m
	}
	return Meta{ActorType: ActorSystem}
}

// Event is what a caller records.
type Event struct {
	// Action is dotted, domain first: "auth.login", "billing.invoice.void".
	Action     string
	AccountID  string
	TargetType string
	TargetID   string
	// Changes is a small JSON-able description of what changed; never
	// secrets (passwords, tokens, TOTP secrets).
	Changes map[string]any
	// Result defaults to Success.
	Result string
	// Actor overrides the context's actor (e.g. the user a failed login
	// was for is not yet the actor).
	ActorType, ActorID string
}

// Record is a stored event.
type Record struct {
	bun.BaseModel `bun:"table:audit_events"`

	Seq        int64     `bun:"seq,pk" json:"seq"`
	ID         string    `bun:"id" json:"id"`
	OccurredAt time.Time `bun:"occurred_at" json:"occurred_at"`
	ActorType  string    `bun:"actor_type" json:"actor_type"`
	ActorID    string    `bun:"actor_id" json:"actor_id"`
	AccountID  string    `bun:"account_id" json:"account_id"`
	Action     string    `bun:"action" json:"action"`
	TargetType string    `bun:"target_type" json:"target_type"`
	TargetID   string    `bun:"target_id" json:"target_id"`
	Changes    string    `bun:"changes" json:"-"`
	Result     string    `bun:"result" json:"result"`
	RequestID  string    `bun:"request_id" json:"request_id"`
	IP         string    `bun:"ip" json:"ip"`
	UserAgent  string    `bun:"user_agent" json:"user_agent"`
	PrevHash   string    `bun:"prev_hash" json:"prev_hash"`
	Hash       string    `bun:"hash" json:"hash"`
}

type chainHead struct {
	bun.BaseModel `bun:"table:audit_chain_head"`

	ID   int    `bun:"id,pk"`
	Seq  int64  `bun:"seq"`
	Hash string `bun:"hash"`
}

// Append writes ev to the chain inside tx, taking the actor and request
// details from ctx. Call it as the last write of the transaction.
func Append(ctx context.Context, tx bun.Tx, ev Event) (*Record, error) {
	meta := MetaFrom(ctx)
	rec := &Record{
		ID:         uuid.Must(uuid.NewV7()).String(),
		OccurredAt: time.Now().UTC().Truncate(time.Microsecond),
		ActorType:  meta.ActorType,
		ActorID:    meta.ActorID,
		AccountID:  ev.AccountID,
		Action:     ev.Action,
		TargetType: ev.TargetType,
		TargetID:   ev.TargetID,
		Result:     ev.Result,
		RequestID:  meta.RequestID,
		IP:         meta.IP,
		UserAgent:  meta.UserAgent,
	}
	if ev.ActorType != "" {
		rec.ActorType, rec.ActorID = ev.ActorType, ev.ActorID
	}
	if rec.Result == "" {
		rec.Result = Success
	}
	if rec.ActorType == "" {
		rec.ActorType = ActorAnonymous
	}
	changes := ev.Changes
	if changes == nil {
		changes = map[string]any{}
	}
	if a := meta.Approval; a != nil {
		changes = maps.Clone(changes)
		changes["approval_id"], changes["approval_event_id"], changes["approved_by"] = a.ID, a.EventID, a.ApprovedBy
	}
	// encoding/json sorts map keys, which makes this the canonical form.
	b, err := json.Marshal(changes)
	if err != nil {
		return nil, fmt.Errorf("audit: encoding changes of %s: %w", ev.Action, err)
	}
	rec.Changes = string(b)

	head := chainHead{}
	q := tx.NewSelect().Model(&head).Where("id = 1")
	q = database.ForUpdate(q)
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("audit: reading chain head: %w", err)
	}
	rec.Seq = head.Seq + 1
	rec.PrevHash = head.Hash
	rec.Hash = rec.ComputeHash()
	if _, err := tx.NewInsert().Model(rec).Exec(ctx); err != nil {
		return nil, fmt.Errorf("audit: appending %s: %w", ev.Action, err)
	}
	if _, err := tx.NewUpdate().Model((*chainHead)(nil)).
		Set("seq = ?", rec.Seq).Set("hash = ?", rec.Hash).Where("id = 1").Exec(ctx); err != nil {
		return nil, fmt.Errorf("audit: advancing chain head: %w", err)
	}
	return rec, nil
}

// Log records ev in its own transaction, or in the ambient one if ctx has
// one.
func Log(ctx context.Context, db *database.DB, ev Event) error {
	return db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := Append(ctx, tx, ev)
		return err
	})
}

// LogDetached records ev so that it survives the ambient transaction's
// rollback: for refusals and failures inside a request that will fail.
func LogDetached(ctx context.Context, db *database.DB, ev Event, report func(error)) error {
	return db.Detached(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := Append(ctx, tx, ev)
		return err
	}, report)
}

// ComputeHash returns the hex SHA-256 of the canonical encoding: every field
// length-prefixed in a fixed order, so no two different events encode alike.
func (r *Record) ComputeHash() string {
	h := sha256.New()
	var lenBuf [binary.MaxVarintLen64]byte
	write := func(s string) {
		n := binary.PutUvarint(lenBuf[:], uint64(len(s)))
		h.Write(lenBuf[:n])
		h.Write([]byte(s))
	}
	write("ezscale.audit.v1")
	write(strconv.FormatInt(r.Seq, 10))
	write(r.PrevHash)
	write(r.ID)
	write(r.OccurredAt.UTC().Format("2006-01-02T15:04:05.000000Z"))
	write(r.ActorType)
	write(r.ActorID)
	write(r.AccountID)
	write(r.Action)
	write(r.TargetType)
	write(r.TargetID)
	write(r.Changes)
	write(r.Result)
	write(r.RequestID)
	write(r.IP)
	write(r.UserAgent)
	return hex.EncodeToString(h.Sum(nil))
}

// ChangesMap decodes the stored changes for display.
func (r *Record) ChangesMap() map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(r.Changes), &m)
	return m
}
