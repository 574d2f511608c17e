package support

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/ratelimit"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Delivery states of a customer's reply on an escalated conversation
// (Message.Delivery; empty for every other message).
const (
	// DeliveryPending: stored, not yet taken by the helpdesk; the poll job
	// retries it.
	DeliveryPending = "pending"
	// DeliverySent: on the ticket.
	DeliverySent = "sent"
)

// ReplyInput is the customer's message to the support team on an
// escalated conversation.
type ReplyInput struct {
	Text string `json:"text"`
	// Key is the client's idempotency key (the API's Idempotency-Key),
	// optional: a retry with the same key on the conversation returns
	// the reply the first request stored, and stores nothing.
	Key string `json:"-"`
}

// Reply stores the customer's message on one of their escalated
// conversations and posts it to the conversation's helpdesk ticket. The
// message is stored first (pending, with an audit event, in one
// transaction); the helpdesk is called outside it with a key derived from
// the message id, so a retry adds one message to the ticket. When the
// helpdesk fails the message stays pending and the poll job delivers it;
// the returned message says which. A reply to a closed ticket is posted
// too: the helpdesk reopens a ticket the customer replies to (SupportPal
// does), and the conversation's ticket is polled again. The
// conversation's earlier pending replies are posted before it, in order.
//
// Errors, before anything is stored: Unprocessable (reason helpdesk_off),
// Invalid (text), NotFound (conversation), Conflict (reason not_escalated:
// no ticket yet), RateLimited (reason reply_limit per user, with
// RetryAfter).
func (s *Service) Reply(ctx context.Context, accountID, userID, conversationID string, in ReplyInput) (*Message, error) {
	if s.opts.Helpdesk == "" {
		return nil, &apperr.Error{Code: apperr.Unprocessable, Reason: "helpdesk_off", Message: "no helpdesk is configured to take replies"}
	}
	text := strings.TrimSpace(in.Text)
	switch {
	case text == "":
		return nil, apperr.Field("text", "is required")
	case utf8.RuneCountInString(text) > s.opts.MaxQuestion:
		return nil, apperr.Field("text", "must be at most %d characters", s.opts.MaxQuestion)
	}
	c, err := s.own(ctx, s.db.Conn(ctx), accountID, userID, conversationID)
	if err != nil {
		return nil, err
	}
	if c.TicketID == "" {
		return nil, &apperr.Error{Code: apperr.Conflict, Reason: "not_escalated",
			Message: "this conversation has no ticket with the support team yet; ask the assistant, or hand the conversation to the support team"}
	}
	if in.Key != "" {
		prev, err := s.replyByKey(ctx, c.ID, in.Key)
		if err != nil || prev != nil {
			if prev != nil {
				s.flush(ctx, c, prev)
			}
			return prev, err
		}
	}
	if s.limiter != nil {
		ok, retry, err := s.limiter.Hit(ctx, "support:reply:user:"+userID, ratelimit.Rule{Limit: s.opts.AskLimit, Window: s.opts.AskWindow})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &apperr.Error{Code: apperr.RateLimited, Reason: "reply_limit", RetryAfter: retry,
				Message: "too many messages to the support team; try again later"}
		}
	}
	now := s.now()
	m := &Message{ID: newID(), ConversationID: c.ID, AccountID: accountID, Role: RoleCustomer, Text: text, CitationsJSON: "[]",
		Delivery: DeliveryPending, CreatedAt: now, Citations: []Citation{}}
	if in.Key != "" {
		m.RequestKey = &in.Key
	}
	stored := true
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewInsert().Model(m).On("CONFLICT (conversation_id, request_key) DO NOTHING").Exec(ctx)
		if err != nil {
			return fmt.Errorf("support: storing the reply: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			stored = false // a concurrent request with the same key stored it
			return nil
		}
		if _, err := tx.NewUpdate().Model((*Conversation)(nil)).Set("last_message_at = ?", now).Where("id = ?", c.ID).Exec(ctx); err != nil {
			return fmt.Errorf("support: updating conversation %s: %w", c.ID, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "support.reply.add", AccountID: accountID, TargetType: "support_conversation",
			TargetID: c.ID, Changes: map[string]any{"message_id": m.ID, "ticket_id": c.TicketID, "characters": utf8.RuneCountInString(text)}})
		return err
	})
	if err != nil {
		return nil, err
	}
	if !stored {
		prev, err := s.replyByKey(ctx, c.ID, in.Key)
		if err != nil {
			return nil, err
		}
		if prev == nil {
			return nil, fmt.Errorf("support: the reply stored with key %q on %s is gone", in.Key, c.ID)
		}
		m = prev
	}
	s.flush(ctx, c, m)
	return m, nil
}

// replyByKey is the reply stored on the conversation with the client's
// key, nil when none.
func (s *Service) replyByKey(ctx context.Context, conversationID, key string) (*Message, error) {
	m := &Message{}
	err := s.db.Conn(ctx).NewSelect().Model(m).Where("conversation_id = ?", conversationID).Where("request_key = ?", key).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("support: reading the reply with key %q: %w", key, err)
	}
	m.decode()
	return m, nil
}

// flush posts the conversation's pending replies up to and including m,
// oldest first, so the ticket shows them in the order they were written;
// it stops at the first the helpdesk refuses (the poll job retries).
// m.Delivery says whether m reached the ticket.
func (s *Service) flush(ctx context.Context, c *Conversation, m *Message) {
	if m.Delivery != DeliveryPending {
		return
	}
	var pending []Message
	err := s.db.Conn(ctx).NewSelect().Model(&pending).Where("conversation_id = ?", c.ID).Where("delivery = ?", DeliveryPending).
		OrderExpr("created_at, id").Scan(ctx)
	if err != nil {
		s.log.Warn("loading pending replies; the poll job posts them", "conversation_id", c.ID, "error", err)
		return
	}
	for i := range pending {
		if err := s.deliver(ctx, c, &pending[i]); err != nil {
			s.log.Warn("posting a reply to the helpdesk; the poll job retries it", "conversation_id", c.ID, "message_id", pending[i].ID, "error", err)
			return
		}
		if pending[i].ID == m.ID {
			m.Delivery = DeliverySent
			return
		}
	}
}

// replyKey is the helpdesk idempotency key of a customer's reply.
func replyKey(messageID string) string { return "support-message-" + messageID }

// deliver posts one pending reply to the conversation's ticket (outside
// any transaction) and records it sent; on success m.Delivery is
// DeliverySent. A reply another delivery recorded already is left alone.
func (s *Service) deliver(ctx context.Context, c *Conversation, m *Message) error {
	helpdesk, err := s.plugins.Helpdesk(s.opts.Helpdesk)
	if err != nil {
		return err
	}
	email, name, err := s.users.Contact(ctx, c.UserID)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	r, err := helpdesk.AddMessage(cctx, &pb.AddMessageRequest{IdempotencyKey: replyKey(m.ID), TicketId: c.TicketID,
		Customer: &pb.Customer{AccountId: c.AccountID, Email: email, Name: name}, Text: m.Text})
	if err != nil {
		return err
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Model((*Message)(nil)).Set("delivery = ?", DeliverySent).Where("id = ?", m.ID).Where("delivery = ?", DeliveryPending)
		if id := r.GetMessageId(); id != "" {
			q = q.Set("helpdesk_message_id = ?", id)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("support: recording the delivery of %s: %w", m.ID, err)
		}
		// The helpdesk reopens a closed ticket the customer replies to:
		// poll it again for its state and the operators' answers.
		_, err := tx.NewUpdate().Model((*Conversation)(nil)).Set("ticket_state = 'open'").
			Where("id = ?", c.ID).Where("ticket_state = 'closed'").Exec(ctx)
		if err != nil {
			return fmt.Errorf("support: reopening the ticket of %s: %w", c.ID, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	m.Delivery = DeliverySent
	return nil
}

// DeliverStats says what one delivery run did.
type DeliverStats struct {
	Delivered int
	Failed    int
}

// DeliverPending posts the replies the helpdesk did not take when they
// were written, oldest first, PollBatch at a time (the poll job runs it).
// A conversation whose reply fails keeps its later replies for the next
// run, so the ticket shows them in order.
func (s *Service) DeliverPending(ctx context.Context) (DeliverStats, error) {
	var st DeliverStats
	if s.opts.Helpdesk == "" {
		return st, nil
	}
	var ms []Message
	err := s.db.Conn(ctx).NewSelect().Model(&ms).Where("delivery = ?", DeliveryPending).OrderExpr("created_at, id").
		Limit(int64(s.opts.PollBatch)).Scan(ctx)
	if err != nil {
		return st, fmt.Errorf("support: loading pending replies: %w", err)
	}
	convs := map[string]*Conversation{}
	failed := map[string]bool{}
	for i := range ms {
		m := &ms[i]
		if failed[m.ConversationID] {
			continue
		}
		c, ok := convs[m.ConversationID]
		if !ok {
			c = &Conversation{}
			if err := s.db.Conn(ctx).NewSelect().Model(c).Where("id = ?", m.ConversationID).Scan(ctx); err != nil {
				return st, fmt.Errorf("support: loading conversation %s: %w", m.ConversationID, err)
			}
			convs[m.ConversationID] = c
		}
		if err := s.deliver(ctx, c, m); err != nil {
			st.Failed++
			failed[m.ConversationID] = true
			s.log.Warn("posting a pending reply to the helpdesk", "conversation_id", c.ID, "message_id", m.ID, "error", err)
			continue
		}
		st.Delivered++
	}
	return st, nil
}
