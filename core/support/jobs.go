package support

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Notification types of the support category (core/notify).
const (
	// NotifyReply: an operator replied on the customer's ticket.
	NotifyReply = notify.SupportReply
	// NotifyTicketStatus: the ticket's state changed (waiting on the
	// customer, closed, reopened).
	NotifyTicketStatus = notify.SupportTicketStatus
)

// PollStats says what one poll did.
type PollStats struct {
	Tickets int
	Replies int
	Failed  int
	// Delivered and Undelivered count the customers' pending replies
	// posted to their tickets, and those the helpdesk refused again.
	Delivered   int
	Undelivered int
}

// Poll first posts the customers' pending replies to their tickets
// (DeliverPending), then brings the replies and status of open tickets to
// their conversations, the PollBatch polled longest ago: each ticket is read
// from the helpdesk outside any transaction, then its new operator
// replies are stored (once each: a message id is kept per conversation)
// and the customer is notified, in one transaction per ticket.
func (s *Service) Poll(ctx context.Context) (PollStats, error) {
	var st PollStats
	if s.opts.Helpdesk == "" {
		return st, nil
	}
	ds, err := s.DeliverPending(ctx)
	st.Delivered, st.Undelivered = ds.Delivered, ds.Failed
	if err != nil {
		return st, err
	}
	var cs []Conversation
	err = s.db.Conn(ctx).NewSelect().Model(&cs).Where("ticket_id <> ''").Where("ticket_state <> 'closed'").
		OrderExpr("polled_at ASC NULLS FIRST, id").Limit(int64(s.opts.PollBatch)).Scan(ctx)
	if err != nil {
		return st, fmt.Errorf("support: loading open tickets: %w", err)
	}
	if len(cs) == 0 {
		return st, nil
	}
	helpdesk, err := s.plugins.Helpdesk(s.opts.Helpdesk)
	if err != nil {
		return st, fmt.Errorf("support: reaching the helpdesk: %w", err)
	}
	for i := range cs {
		c := &cs[i]
		st.Tickets++
		cctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
		t, err := helpdesk.GetTicket(cctx, &pb.GetTicketRequest{TicketId: c.TicketID, MessagesAfter: c.RepliesAfter})
		cancel()
		if err != nil {
			st.Failed++
			s.log.Warn("polling a support ticket", "conversation_id", c.ID, "ticket_id", c.TicketID, "error", err)
			continue
		}
		n, err := s.record(ctx, c, t)
		if err != nil {
			return st, err
		}
		st.Replies += n
	}
	return st, nil
}

// record stores what a poll read of one ticket.
func (s *Service) record(ctx context.Context, c *Conversation, t *pb.GetTicketResponse) (int, error) {
	now := s.now()
	state, status := database.Clean(t.GetTicket().GetStatus().GetState()), database.Text(t.GetTicket().GetStatus().GetName(), maxStatusName)
	if state == "" {
		state = c.TicketState
	}
	link := "/support/" + c.ID
	added := 0
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		after := c.RepliesAfter
		for _, m := range t.GetMessages() {
			// The last second is read again next time: a later message of the
			// same second is not missed (a message already stored is skipped).
			after = max(after, m.GetCreatedAt()-1)
			if m.GetAuthorRole() != "staff" {
				continue // the customer's own messages are in the conversation already, or were written at the helpdesk
			}
			id := m.GetId()
			// The helpdesk's text is stored as it came, less what no text
			// column takes (NUL, invalid UTF-8): one such reply must not
			// stop the replies of every ticket polled with it.
			msg := &Message{ID: newID(), ConversationID: c.ID, AccountID: c.AccountID, Role: RoleStaff, Text: database.Clean(m.GetText()), CitationsJSON: "[]",
				AuthorName: database.Text(m.GetAuthorName(), maxAuthorName), HelpdeskMessageID: &id, CreatedAt: now}
			res, err := tx.NewInsert().Model(msg).On("CONFLICT (conversation_id, helpdesk_message_id) DO NOTHING").Exec(ctx)
			if err != nil {
				return fmt.Errorf("support: storing a reply on %s: %w", c.ID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			added++
			err = s.notifier.Notify(ctx, tx, notify.Event{Type: NotifyReply, UserIDs: []string{c.UserID}, Link: link,
				Key: "support.reply:" + c.ID + ":" + id,
				Data: map[string]any{"conversation_id": c.ID, "subject": c.Subject, "ticket_number": c.TicketNumber, "ticket_url": c.TicketURL,
					"author": msg.AuthorName, "excerpt": clip(msg.Text, 200)}})
			if err != nil {
				return err
			}
		}
		if state != c.TicketState {
			err := s.notifier.Notify(ctx, tx, notify.Event{Type: NotifyTicketStatus, UserIDs: []string{c.UserID}, Link: link,
				Key: fmt.Sprintf("support.ticket_status:%s:%s:%d", c.ID, state, now.Unix()),
				Data: map[string]any{"conversation_id": c.ID, "subject": c.Subject, "ticket_number": c.TicketNumber, "ticket_url": c.TicketURL,
					"state": state, "status": status}})
			if err != nil {
				return err
			}
		}
		q := tx.NewUpdate().Model((*Conversation)(nil)).Set("ticket_state = ?, ticket_status = ?, replies_after = ?, polled_at = ?",
			state, status, after, now).Where("id = ?", c.ID)
		if added > 0 {
			q = q.Set("last_message_at = ?", now)
		}
		if _, err := q.Exec(ctx); err != nil {
			return fmt.Errorf("support: updating the ticket of %s: %w", c.ID, err)
		}
		return nil
	})
	return added, err
}

// Purge deletes the conversations (with their messages) whose last
// message is older than the retention, and token counts older than it.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.opts.Retention)
	var n int64
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		old := tx.NewSelect().Model((*Conversation)(nil)).Column("id").Where("last_message_at < ?", cutoff)
		if _, err := tx.NewDelete().Model((*Message)(nil)).Where("conversation_id IN (?)", old).Exec(ctx); err != nil {
			return fmt.Errorf("support: purging messages: %w", err)
		}
		res, err := tx.NewDelete().Model((*Conversation)(nil)).Where("last_message_at < ?", cutoff).Exec(ctx)
		if err != nil {
			return fmt.Errorf("support: purging conversations: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.NewDelete().Model((*tokenUsage)(nil)).Where("day < ?", day(cutoff)).Exec(ctx); err != nil {
			return fmt.Errorf("support: purging token counts: %w", err)
		}
		return nil
	})
	return n, err
}

func (s *Service) registerJobs(reg *jobs.Registry) {
	jobs.Add(reg, &pollWorker{s: s})
	jobs.Add(reg, &purgeWorker{s: s})
	if s.opts.PollInterval < 0 {
		return
	}
	if s.opts.Helpdesk != "" {
		reg.Periodic("support_poll", s.opts.PollInterval, func() river.JobArgs { return pollArgs{} })
	}
	reg.Periodic("support_purge", time.Hour, func() river.JobArgs { return purgeArgs{} })
}

type pollArgs struct{}

func (pollArgs) Kind() string { return "support_poll" }

type pollWorker struct {
	river.WorkerDefaults[pollArgs]
	s *Service
}

func (w *pollWorker) Timeout(*river.Job[pollArgs]) time.Duration { return 2 * time.Minute }

func (w *pollWorker) Work(ctx context.Context, _ *river.Job[pollArgs]) error {
	st, err := w.s.Poll(ctx)
	w.s.log.Debug("support tickets polled", "tickets", st.Tickets, "replies", st.Replies, "failed", st.Failed,
		"delivered", st.Delivered, "undelivered", st.Undelivered)
	return err
}

type purgeArgs struct{}

func (purgeArgs) Kind() string { return "support_purge" }

type purgeWorker struct {
	river.WorkerDefaults[purgeArgs]
	s *Service
}

func (w *purgeWorker) Timeout(*river.Job[purgeArgs]) time.Duration { return 2 * time.Minute }

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[purgeArgs]) error {
	_, err := w.s.Purge(ctx)
	return err
}
