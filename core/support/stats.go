package support

import (
	"context"
	"fmt"
	"time"
)

// Stats are the assistant's resolution numbers over conversations started
// at or after Since.
type Stats struct {
	Since         time.Time `json:"since"`
	Conversations int       `json:"conversations"`
	// Answered: conversations with at least one answer; AnsweredWithoutEscalation
	// those of them never handed to a human.
	Answered                  int `json:"answered"`
	AnsweredWithoutEscalation int `json:"answered_without_escalation"`
	Escalated                 int `json:"escalated"`
	// RatedHelpful and RatedUnhelpful count rated answers.
	RatedHelpful   int   `json:"rated_helpful"`
	RatedUnhelpful int   `json:"rated_unhelpful"`
	Tokens         int64 `json:"tokens"`
}

// Stats reports the resolution numbers of the last days days (1-365) for
// staff.
func (s *Service) Stats(ctx context.Context, days int) (*Stats, error) {
	days = min(max(days, 1), 365)
	since := s.now().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	st := &Stats{Since: since}
	db := s.db.Conn(ctx)
	answered := db.NewSelect().Model((*Message)(nil)).Column("conversation_id").Where("role = ?", RoleAssistant)
	var row struct {
		Conversations int `bun:"conversations"`
		Answered      int `bun:"answered"`
		Quiet         int `bun:"quiet"`
		Escalated     int `bun:"escalated"`
	}
	err := db.NewSelect().Model((*Conversation)(nil)).Where("created_at >= ?", since).
		ColumnExpr("COUNT(*) AS conversations").
		ColumnExpr("COALESCE(SUM(CASE WHEN id IN (?) THEN 1 ELSE 0 END), 0) AS answered", answered).
		ColumnExpr("COALESCE(SUM(CASE WHEN id IN (?) AND NOT escalated THEN 1 ELSE 0 END), 0) AS quiet", answered).
		ColumnExpr("COALESCE(SUM(CASE WHEN escalated THEN 1 ELSE 0 END), 0) AS escalated").
		Scan(ctx, &row)
	if err != nil {
		return nil, fmt.Errorf("support: counting conversations: %w", err)
	}
	st.Conversations, st.Answered, st.AnsweredWithoutEscalation, st.Escalated = row.Conversations, row.Answered, row.Quiet, row.Escalated
	var rated struct {
		Helpful   int `bun:"helpful"`
		Unhelpful int `bun:"unhelpful"`
	}
	err = db.NewSelect().Model((*Message)(nil)).Where("role = ?", RoleAssistant).Where("created_at >= ?", since).
		ColumnExpr("COALESCE(SUM(CASE WHEN rating = 1 THEN 1 ELSE 0 END), 0) AS helpful").
		ColumnExpr("COALESCE(SUM(CASE WHEN rating = -1 THEN 1 ELSE 0 END), 0) AS unhelpful").Scan(ctx, &rated)
	if err != nil {
		return nil, fmt.Errorf("support: counting ratings: %w", err)
	}
	st.RatedHelpful, st.RatedUnhelpful = rated.Helpful, rated.Unhelpful
	err = db.NewSelect().Model((*tokenUsage)(nil)).ColumnExpr("COALESCE(SUM(tokens), 0)").Where("day >= ?", day(since)).Scan(ctx, &st.Tokens)
	if err != nil {
		return nil, fmt.Errorf("support: counting tokens: %w", err)
	}
	return st, nil
}
