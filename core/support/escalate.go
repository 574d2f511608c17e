package support

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// EscalateInput hands a conversation to a human.
type EscalateInput struct {
	// Reason is the customer's, optional.
	Reason string `json:"reason"`
}

// maxReason bounds an escalation reason, in characters.
const maxReason = 500

// Escalate hands one of the customer's conversations to a human: the
// helpdesk opens a ticket with the transcript and the account context,
// and the conversation shows its link. Escalating again returns the same
// ticket; a retry after a failed call opens one ticket (the helpdesk
// plugin is idempotent on the conversation's key). Errors: NotFound,
// Invalid (reason), Unprocessable (reason helpdesk_off), Unavailable (the
// helpdesk failed; nothing but the request to escalate is stored).
func (s *Service) Escalate(ctx context.Context, accountID, userID, conversationID string, in EscalateInput) (*Conversation, error) {
	if len([]rune(in.Reason)) > maxReason {
		return nil, apperr.Field("reason", "must be at most %d characters", maxReason)
	}
	c, err := s.own(ctx, s.db.Conn(ctx), accountID, userID, conversationID)
	if err != nil {
		return nil, err
	}
	return s.escalate(ctx, c, "customer", strings.TrimSpace(in.Reason))
}

func (s *Service) escalate(ctx context.Context, c *Conversation, by, reason string) (*Conversation, error) {
	if c.TicketID != "" {
		return c, nil
	}
	if s.opts.Helpdesk == "" {
		return nil, &apperr.Error{Code: apperr.Unprocessable, Reason: "helpdesk_off", Message: "no helpdesk is configured to hand conversations to"}
	}
	helpdesk, err := s.plugins.Helpdesk(s.opts.Helpdesk)
	if err != nil {
		return nil, apperr.FromPlugin(err, "the helpdesk")
	}
	// The request is recorded first (with the key every retry reuses), so
	// the conversation stops taking questions even if the helpdesk fails.
	if !c.Escalated {
		c.Escalated, c.EscalatedBy, c.EscalationReason, c.EscalationKey = true, by, clip(reason, maxReason), "support-conversation-"+c.ID
		err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewUpdate().Model((*Conversation)(nil)).
				Set("escalated = true, escalated_by = ?, escalation_reason = ?, escalation_key = ?", c.EscalatedBy, c.EscalationReason, c.EscalationKey).
				Where("id = ?", c.ID).Where("NOT escalated").Exec(ctx)
			if err != nil {
				return fmt.Errorf("support: escalating conversation %s: %w", c.ID, err)
			}
			_, err = audit.Append(ctx, tx, audit.Event{Action: "support.conversation.escalate", AccountID: c.AccountID,
				TargetType: "support_conversation", TargetID: c.ID, Changes: map[string]any{"by": by}})
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	body, err := s.transcript(ctx, c)
	if err != nil {
		return nil, err
	}
	email, name, err := s.users.Contact(ctx, c.UserID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	t, err := helpdesk.OpenTicket(cctx, &pb.OpenTicketRequest{IdempotencyKey: c.EscalationKey,
		Customer: &pb.Customer{AccountId: c.AccountID, Email: email, Name: name}, Subject: "Support: " + clip(c.Subject, 100), Body: body})
	if err != nil {
		return nil, apperr.FromPlugin(err, "the helpdesk")
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*Conversation)(nil)).
			Set("ticket_id = ?, ticket_number = ?, ticket_url = ?, ticket_state = 'open', ticket_status = 'Open'", t.GetTicketId(), t.GetNumber(), t.GetUrl()).
			Where("id = ?", c.ID).Where("ticket_id = ''").Exec(ctx)
		if err != nil {
			return fmt.Errorf("support: recording the ticket of %s: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a concurrent escalation recorded it
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "support.ticket.open", AccountID: c.AccountID, TargetType: "support_conversation",
			TargetID: c.ID, Changes: map[string]any{"ticket_id": t.GetTicketId(), "ticket_number": t.GetNumber()}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.own(ctx, s.db.Conn(ctx), c.AccountID, c.UserID, c.ID)
}

// transcript is the ticket's body: the conversation, then the account
// context the assistant had.
func (s *Service) transcript(ctx context.Context, c *Conversation) (string, error) {
	ms, err := s.messages(ctx, c.ID)
	if err != nil {
		return "", err
	}
	facts, err := s.AccountContext(ctx, c.AccountID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Conversation %s with the support assistant (account %s), escalated by the %s.\n", c.ID, c.AccountID, c.EscalatedBy)
	if c.EscalationReason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", c.EscalationReason)
	}
	b.WriteString("\n--- Transcript ---\n")
	for _, m := range ms {
		fmt.Fprintf(&b, "\n[%s] %s:\n%s\n", m.CreatedAt.Format("2006-01-02 15:04 MST"), m.Role, m.Text)
		for _, ci := range m.Citations {
			fmt.Fprintf(&b, "  cited: %s (%s)\n", ci.Title, ci.ID)
		}
	}
	b.WriteString("\n--- Account context ---\n")
	keys := make([]string, 0, len(facts))
	for k := range facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "\n%s:\n%s\n", k, facts[k])
	}
	return b.String(), nil
}
