package audit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ezscale/platform/core/database"
)

// Filter selects events for the admin list; zero fields match everything.
type Filter struct {
	AccountID  string
	ActorID    string
	Action     string // exact, or a prefix ending in "." such as "auth."
	TargetType string
	TargetID   string
	Result     string
	Since      time.Time
	Until      time.Time
	// BeforeSeq pages backwards: only events with seq < BeforeSeq.
	BeforeSeq int64
	Limit     int
}

// List returns events newest first.
func List(ctx context.Context, db *database.DB, f Filter) ([]Record, error) {
	var out []Record
	q := db.Read.NewSelect().Model(&out).Order("seq DESC").Limit(int64(f.Limit))
	if f.AccountID != "" {
		q = q.Where("account_id = ?", f.AccountID)
	}
	if f.ActorID != "" {
		q = q.Where("actor_id = ?", f.ActorID)
	}
	if f.Action != "" {
		if f.Action[len(f.Action)-1] == '.' {
			q = q.Where(`action LIKE ? ESCAPE '\'`, likeEscaper.Replace(f.Action)+"%")
		} else {
			q = q.Where("action = ?", f.Action)
		}
	}
	if f.TargetType != "" {
		q = q.Where("target_type = ?", f.TargetType)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Result != "" {
		q = q.Where("result = ?", f.Result)
	}
	if !f.Since.IsZero() {
		q = q.Where("occurred_at >= ?", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		q = q.Where("occurred_at < ?", f.Until.UTC())
	}
	if f.BeforeSeq > 0 {
		q = q.Where("seq < ?", f.BeforeSeq)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("audit: listing events: %w", err)
	}
	return out, nil
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
