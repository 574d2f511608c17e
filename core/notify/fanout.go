package notify

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// userChunk bounds the ids inlined into one statement for Event.UserIDs.
const userChunk = 1000

// fanOut writes the in-app rows and outbox entries of an event with one
// INSERT … SELECT per channel (per chunk of UserIDs): the recipients and
// their preferences are resolved by the database, so an announcement to
// every user costs a few statements, not a round trip per user.
func (s *Service) fanOut(ctx context.Context, tx bun.Tx, info *TypeInfo, ev *Event, r *rendered, res *Result) error {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return fmt.Errorf("notify: encoding %s data: %w", info.Type, err)
	}
	if ev.Data == nil {
		data = []byte("{}")
	}
	// A message to one user keeps its body inline; anything wider shares
	// one stored body per channel.
	shared := len(ev.UserIDs) != 1
	var eventID string
	if info.Has(ChannelInApp) {
		if eventID, err = s.insertEvent(ctx, tx, info, ev, r, string(data)); err != nil {
			return err
		}
	}
	run := func(aud string, audArgs []any) error {
		if info.Has(ChannelInApp) {
			n, err := s.insertInApp(ctx, tx, info, eventID, aud, audArgs)
			if err != nil {
				return err
			}
			res.InApp += n
		}
		if info.Has(ChannelEmail) {
			n, err := s.insertMessages(ctx, tx, info, ChannelEmail, r, s.link(ev.Link), shared, aud, audArgs)
			if err != nil {
				return err
			}
			res.Messages[ChannelEmail] += n
		}
		if info.Has(ChannelDiscord) && s.opts.DiscordPlugin != "" {
			n, err := s.insertMessages(ctx, tx, info, ChannelDiscord, r, s.link(ev.Link), false, aud, audArgs)
			if err != nil {
				return err
			}
			res.Messages[ChannelDiscord] += n
		}
		return nil
	}
	switch {
	case ev.AllUsers:
		return run("TRUE", nil)
	case ev.AccountID != "":
		aud := "u.id IN (SELECT m.user_id FROM memberships AS m WHERE m.account_id = ?"
		args := []any{ev.AccountID}
		if info.Roles != nil {
			aud += " AND m.role IN (?)"
			args = append(args, bun.List(info.Roles))
		}
		return run(aud+")", args)
	default:
		for i := 0; i < len(ev.UserIDs); i += userChunk {
			chunk := ev.UserIDs[i:min(i+userChunk, len(ev.UserIDs))]
			if err := run("u.id IN (?)", []any{bun.List(chunk)}); err != nil {
				return err
			}
		}
		return nil
	}
}

// idPrefix returns the first 30 characters of a fresh UUIDv7. Rows of one
// statement append six hex digits of their row number: ids stay unique,
// time-ordered and valid UUIDv7 strings without a round trip per row.
func idPrefix() string { return uuid.Must(uuid.NewV7()).String()[:30] }

func (s *Service) idExpr() string {
	if s.db.Dialect == database.Postgres {
		return "? || lpad(to_hex(r.rn), 6, '0')"
	}
	return "? || printf('%06x', r.rn)"
}

// prefCond is the SQL condition "the user wants type on ch", over u.
func prefCond(info *TypeInfo, ch Channel) (string, []any) {
	switch {
	case info.IsLocked(ch):
		return "TRUE", nil
	case info.On(ch):
		return "NOT EXISTS (SELECT 1 FROM notification_preferences AS p WHERE p.user_id = u.id AND p.type = ? AND p.channel = ? AND p.enabled = ?)",
			[]any{string(info.Type), string(ch), false}
	default:
		return "EXISTS (SELECT 1 FROM notification_preferences AS p WHERE p.user_id = u.id AND p.type = ? AND p.channel = ? AND p.enabled = ?)",
			[]any{string(info.Type), string(ch), true}
	}
}

// insertEvent stores what the event's notifications show, once.
func (s *Service) insertEvent(ctx context.Context, tx bun.Tx, info *TypeInfo, ev *Event, r *rendered, data string) (string, error) {
	id := uuid.Must(uuid.NewV7()).String()
	var account any
	if ev.AccountID != "" {
		account = ev.AccountID
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO notification_events (id, account_id, type, category, title, message, link, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		id, account, string(info.Type), string(info.Category), r.Subject, r.Message, s.link(ev.Link), data, s.now())
	if err != nil {
		return "", fmt.Errorf("notify: storing a %s event: %w", info.Type, err)
	}
	return id, nil
}

// insertInApp gives each recipient who wants the event in-app a row.
func (s *Service) insertInApp(ctx context.Context, tx bun.Tx, info *TypeInfo, eventID, aud string, audArgs []any) (int, error) {
	pref, prefArgs := prefCond(info, ChannelInApp)
	q := "INSERT INTO notifications (id, user_id, event_id, category, created_at) " +
		"SELECT " + s.idExpr() + ", r.id, ?, ?, ? FROM (" +
		"SELECT u.id, row_number() OVER (ORDER BY u.id) AS rn FROM users AS u " +
		"WHERE u.disabled_at IS NULL AND " + aud + " AND " + pref + ") AS r"
	args := []any{idPrefix(), eventID, string(info.Category), s.now()}
	args = append(append(args, audArgs...), prefArgs...)
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("notify: storing %s notifications: %w", info.Type, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("notify: storing %s notifications: %w", info.Type, err)
	}
	return int(n), nil
}

// insertMessages stores one outbox entry per recipient who wants the type
// on ch, then their delivery jobs.
func (s *Service) insertMessages(ctx context.Context, tx bun.Tx, info *TypeInfo, ch Channel, r *rendered, link string, shared bool, aud string, audArgs []any) (int, error) {
	pref, prefArgs := prefCond(info, ch)
	var recipient, join, extra string
	subject, text, html := r.Subject, r.Text, r.HTML
	var bodyID any
	switch ch {
	case ChannelEmail:
		recipient = "u.email"
		if info.Marketing {
			extra = " AND u.email_verified_at IS NOT NULL"
		}
		if shared {
			// Rendered once, stored once: an announcement's body is not
			// copied into every recipient's message.
			id, err := s.outbox.StoreBody(ctx, tx, text, html)
			if err != nil {
				return 0, err
			}
			bodyID, text, html = id, "", ""
		}
	case ChannelDiscord:
		// A user's discord channel is their own webhook (the plugin sends
		// no direct messages).
		recipient = "st.discord_webhook_url"
		join = " JOIN notification_settings AS st ON st.user_id = u.id AND st.discord_webhook_url <> ''"
		text, html = discordText(r, link), ""
	}
	q := "INSERT INTO outbox_messages (id, user_id, channel, recipient, template, category, subject, body_text, body_html, body_id, status, attempts, last_error, created_at) " +
		"SELECT " + s.idExpr() + ", r.id, ?, r.recipient, ?, ?, ?, ?, ?, ?, ?, 0, '', ? FROM (" +
		"SELECT u.id, " + recipient + " AS recipient, row_number() OVER (ORDER BY u.id) AS rn FROM users AS u" + join +
		" WHERE u.disabled_at IS NULL AND " + aud + " AND " + pref + extra + ") AS r RETURNING id"
	args := []any{idPrefix(), string(ch), string(info.Type), outboxCategory(info), subject, text, html, bodyID, "pending", s.now()}
	args = append(append(args, audArgs...), prefArgs...)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("notify: queueing %s %s messages: %w", info.Type, ch, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			_ = rows.Close()
			return 0, fmt.Errorf("notify: queueing %s %s messages: %w", info.Type, ch, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("notify: queueing %s %s messages: %w", info.Type, ch, err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("notify: queueing %s %s messages: %w", info.Type, ch, err)
	}
	if id, ok := bodyID.(string); ok {
		err = s.outbox.EnqueueShared(ctx, tx, id, ids)
	} else {
		err = s.outbox.EnqueueJobs(ctx, tx, ids)
	}
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}

// outboxCategory is the category handed to the notifier plugin.
func outboxCategory(info *TypeInfo) string {
	if info.Marketing {
		return "marketing"
	}
	return string(info.Category)
}
