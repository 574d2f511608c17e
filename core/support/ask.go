package support

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/ratelimit"
	pb "github.com/ezscale/platform/sdk/pluginv1"
)

// Stream events of Ask, in order: any number of EventToken, one
// EventCitations, one EventDone; then EventEscalated when the assistant
// handed the conversation to a human (or EventError when opening the
// ticket failed: the customer may escalate again).
const (
	EventToken     = "token"
	EventCitations = "citations"
	EventDone      = "done"
	EventEscalated = "escalated"
	EventError     = "error"
)

// EmitFunc receives Ask's stream events; an error it returns ends the
// answer (the customer went away).
type EmitFunc func(event string, data any) error

// TokenEvent carries the next piece of the answer.
type TokenEvent struct {
	Text string `json:"text"`
}

// CitationsEvent lists the articles the answer cites.
type CitationsEvent struct {
	Citations []Citation `json:"citations"`
}

// DoneEvent carries the stored answer.
type DoneEvent struct {
	Message Message `json:"message"`
}

// EscalatedEvent carries the escalated conversation (with its ticket).
type EscalatedEvent struct {
	Conversation Conversation `json:"conversation"`
}

// AskInput is a question in a conversation.
type AskInput struct {
	Question string `json:"question"`
}

// maxArticleText bounds one article's text as sent to the assistant.
const maxArticleText = 8000

// Ask puts the customer's question to the assistant in one of their
// conversations and streams the answer to emit as it is written: the
// question and the answer are stored, the tokens counted against the
// account's day, and the conversation escalated when the assistant asks
// for a human. The assistant is sent the conversation so far, the account
// context (AccountContext) and the best-matching knowledge-base articles,
// as data; it can only answer or ask for a human.
//
// Refusals happen before anything is stored or emitted: Invalid
// (question), NotFound (conversation), Conflict (reason escalated: a human
// has the conversation), RateLimited (reason ask_limit per user, or
// daily_token_cap per account, with RetryAfter), Unprocessable (reason
// assistant_off). Once emitting has begun, an error (the plugin failing,
// Unavailable) means no answer was stored.
func (s *Service) Ask(ctx context.Context, accountID, userID, conversationID string, in AskInput, emit EmitFunc) (*Message, error) {
	if s.opts.Assistant == "" {
		return nil, offErr()
	}
	q := strings.TrimSpace(in.Question)
	switch {
	case q == "":
		return nil, apperr.Field("question", "is required")
	case utf8.RuneCountInString(q) > s.opts.MaxQuestion:
		return nil, apperr.Field("question", "must be at most %d characters", s.opts.MaxQuestion)
	}
	c, err := s.own(ctx, s.db.Conn(ctx), accountID, userID, conversationID)
	if err != nil {
		return nil, err
	}
	if c.Escalated {
		return nil, &apperr.Error{Code: apperr.Conflict, Reason: "escalated",
			Message: "this conversation was handed to our support team; reply to them in this conversation, or start a new one to ask the assistant"}
	}
	remaining, err := s.remainingTokens(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if remaining <= 0 {
		now := s.now()
		return nil, &apperr.Error{Code: apperr.RateLimited, Reason: "daily_token_cap", RetryAfter: now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now).Round(time.Second),
			Message: "the support assistant has answered as much as it may today for this account; try again tomorrow or contact support"}
	}
	if s.limiter != nil {
		ok, retry, err := s.limiter.Hit(ctx, "support:ask:user:"+userID, ratelimit.Rule{Limit: s.opts.AskLimit, Window: s.opts.AskWindow})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &apperr.Error{Code: apperr.RateLimited, Reason: "ask_limit", RetryAfter: retry,
				Message: "too many questions to the support assistant; try again later"}
		}
	}
	assistant, err := s.plugins.Assistant(s.opts.Assistant)
	if err != nil {
		return nil, apperr.FromPlugin(err, "the support assistant")
	}
	history, err := s.messages(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	facts, err := s.AccountContext(ctx, accountID)
	if err != nil {
		return nil, err
	}
	articles, err := s.knowledge.Search(q, s.opts.Articles)
	if err != nil {
		return nil, err
	}

	// The question is stored first, in its own short transaction.
	now := s.now()
	question := &Message{ID: newID(), ConversationID: c.ID, AccountID: accountID, Role: RoleCustomer, Text: q, CitationsJSON: "[]", CreatedAt: now}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(question).Exec(ctx); err != nil {
			return fmt.Errorf("support: storing the question: %w", err)
		}
		upd := tx.NewUpdate().Model((*Conversation)(nil)).Set("last_message_at = ?", now).Where("id = ?", c.ID)
		if c.Subject == "" {
			c.Subject = clip(q, 80)
			upd = upd.Set("subject = ?", c.Subject)
		}
		if _, err := upd.Exec(ctx); err != nil {
			return fmt.Errorf("support: updating conversation %s: %w", c.ID, err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "support.question.ask", AccountID: accountID, TargetType: "support_conversation",
			TargetID: c.ID, Changes: map[string]any{"message_id": question.ID, "characters": utf8.RuneCountInString(q)}})
		return err
	})
	if err != nil {
		return nil, err
	}

	req := &pb.AnswerRequest{Question: q, Context: facts, UserRef: userID, MaxOutputTokens: remaining, ConversationId: c.ID}
	if len(history) > s.opts.History {
		history = history[len(history)-s.opts.History:]
	}
	for _, m := range history {
		req.Conversation = append(req.Conversation, &pb.ConversationTurn{Role: m.Role, Text: m.Text})
	}
	sent := map[string]Article{}
	for _, a := range articles {
		sent[a.ID] = a
		req.Documents = append(req.Documents, &pb.KnowledgeDocument{Id: a.ID, Title: a.Title, Url: a.URL, Text: clip(a.Text, maxArticleText)})
	}

	// The answer streams outside any transaction.
	actx, cancel := context.WithTimeout(ctx, s.opts.AnswerTimeout)
	defer cancel()
	var done *pb.AnswerResponse
	err = assistant.StreamAnswer(actx, &pb.StreamAnswerRequest{Request: req}, func(r *pb.StreamAnswerResponse) error {
		if d := r.GetDone(); d != nil {
			done = d
			return nil
		}
		if t := r.GetText(); t != "" {
			return emit(EventToken, TokenEvent{Text: t})
		}
		return nil
	})
	if err != nil {
		return nil, apperr.FromPlugin(err, "the support assistant")
	}

	// Citations name only articles this question was sent.
	cites := []Citation{}
	seen := map[string]bool{}
	for _, id := range done.GetCitedDocumentIds() {
		if a, ok := sent[id]; ok && !seen[id] {
			seen[id] = true
			cites = append(cites, Citation{ID: a.ID, Title: a.Title, URL: a.URL})
		}
	}
	if err := emit(EventCitations, CitationsEvent{Citations: cites}); err != nil {
		return nil, err
	}
	cj, _ := json.Marshal(cites)
	u := done.GetUsage()
	in0 := u.GetInputTokens() + u.GetCacheCreationInputTokens() + u.GetCacheReadInputTokens()
	answer := &Message{ID: newID(), ConversationID: c.ID, AccountID: accountID, Role: RoleAssistant, Text: database.Clean(done.GetAnswer()),
		CitationsJSON: string(cj), InputTokens: in0, OutputTokens: u.GetOutputTokens(), Escalate: done.GetEscalate(),
		CreatedAt: s.now(), Citations: cites}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(answer).Exec(ctx); err != nil {
			return fmt.Errorf("support: storing the answer: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*Conversation)(nil)).Set("last_message_at = ?", answer.CreatedAt).Where("id = ?", c.ID).Exec(ctx); err != nil {
			return fmt.Errorf("support: updating conversation %s: %w", c.ID, err)
		}
		return s.spend(ctx, tx, accountID, in0+u.GetOutputTokens())
	})
	if err != nil {
		return nil, err
	}
	// The customer may have gone; a human is still called when asked for.
	_ = emit(EventDone, DoneEvent{Message: *answer})
	if done.GetEscalate() {
		conv, err := s.escalate(ctx, c, "assistant", done.GetReason())
		if err != nil {
			s.log.Warn("opening the ticket the assistant asked for", "conversation_id", c.ID, "error", err)
			_ = emit(EventError, err)
			return answer, nil
		}
		_ = emit(EventEscalated, EscalatedEvent{Conversation: *conv})
	}
	return answer, nil
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// remainingTokens is what the account may still spend today.
func (s *Service) remainingTokens(ctx context.Context, accountID string) (int64, error) {
	var used int64
	err := s.db.Conn(ctx).NewSelect().Model((*tokenUsage)(nil)).ColumnExpr("COALESCE(SUM(tokens), 0)").
		Where("account_id = ?", accountID).Where("day = ?", day(s.now())).Scan(ctx, &used)
	if err != nil {
		return 0, fmt.Errorf("support: reading the token usage of %s: %w", accountID, err)
	}
	return s.opts.DailyTokens - used, nil
}

// spend adds an answer's tokens to the account's day.
func (s *Service) spend(ctx context.Context, tx bun.Tx, accountID string, tokens int64) error {
	_, err := tx.NewRaw(`INSERT INTO support_token_usage (account_id, day, tokens) VALUES (?, ?, ?)
		ON CONFLICT (account_id, day) DO UPDATE SET tokens = support_token_usage.tokens + excluded.tokens`,
		accountID, day(s.now()), tokens).Exec(ctx)
	if err != nil {
		return fmt.Errorf("support: counting the tokens of %s: %w", accountID, err)
	}
	return nil
}

// Usage is an account's tokens today and its cap.
type Usage struct {
	Day    string `json:"day"`
	Tokens int64  `json:"tokens"`
	Cap    int64  `json:"cap"`
}

// TokenUsage reports the account's tokens today.
func (s *Service) TokenUsage(ctx context.Context, accountID string) (*Usage, error) {
	rem, err := s.remainingTokens(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return &Usage{Day: day(s.now()), Tokens: s.opts.DailyTokens - rem, Cap: s.opts.DailyTokens}, nil
}
