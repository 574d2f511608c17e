package notify

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/database"
)

// Notification is one in-app notification of a user: the recipient's row
// (read state) joined with its event (what it says).
type Notification struct {
	ID        string   `bun:"id"`
	Seq       int64    `bun:"seq"`
	UserID    string   `bun:"user_id"`
	AccountID *string  `bun:"account_id"`
	Type      Type     `bun:"type"`
	Category  Category `bun:"category"`
	Title     string   `bun:"title"`
	Message   string   `bun:"message"`
	Link      string   `bun:"link"`
	// Data is the event's data as JSON.
	Data      string     `bun:"data"`
	ReadAt    *time.Time `bun:"read_at"`
	CreatedAt time.Time  `bun:"created_at"`
}

// selectNotifications starts a query over notifications (alias n) joined
// with their events (alias e).
func selectNotifications(db bun.IDB) *bun.SelectQuery {
	return db.NewSelect().TableExpr("notifications AS n").
		Join("JOIN notification_events AS e ON e.id = n.event_id").
		ColumnExpr("n.id, n.seq, n.user_id, n.category, n.read_at, n.created_at").
		ColumnExpr("e.account_id, e.type, e.title, e.message, e.link, e.data")
}

// notificationsTable names the per-recipient table for updates.
const notificationsTable = "notifications"

// ListFilter selects notifications; BeforeSeq is the cursor (the Seq of
// the last notification of the previous page).
type ListFilter struct {
	Category   Category
	UnreadOnly bool
	BeforeSeq  int64
	Limit      int
	// Services, when set, keeps the notifications about services (their
	// data's service_id) among it: a project's services, say.
	Services *ServiceSet
}

// ServiceSet selects notifications by the service their data names:
// those of AccountID about one of IDs, or (Exclude) about any service of
// the accounts in Accounts but those.
type ServiceSet struct {
	AccountID string
	Accounts  []string
	IDs       []string
	Exclude   bool
}

// ValidCategory reports whether c is a category.
func ValidCategory(c Category) bool { return slices.Contains(Categories, c) }

// reader is the handle for reads: the ambient transaction, else the read
// pool.
func (s *Service) reader(ctx context.Context) bun.IDB {
	if tx, ok := database.TxFrom(ctx); ok {
		return tx
	}
	return s.db.Read
}

// List returns the user's notifications, newest first. Errors: Invalid
// (category).
func (s *Service) List(ctx context.Context, userID string, f ListFilter) ([]Notification, error) {
	if f.Category != "" && !ValidCategory(f.Category) {
		return nil, apperr.Field("category", "must be one of billing, support, system, services")
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var out []Notification
	q := selectNotifications(s.reader(ctx)).Where("n.user_id = ?", userID)
	if f.Category != "" {
		q = q.Where("n.category = ?", string(f.Category))
	}
	if f.UnreadOnly {
		q = q.Where("n.read_at IS NULL")
	}
	if f.BeforeSeq > 0 {
		q = q.Where("n.seq < ?", f.BeforeSeq)
	}
	if set := f.Services; set != nil {
		serviceID := "json_extract(e.data, '$.service_id')"
		if !s.db.IsSQLite() {
			serviceID = "(e.data::jsonb ->> 'service_id')"
		}
		switch {
		case set.Exclude:
			if len(set.Accounts) == 0 {
				return []Notification{}, nil
			}
			q = q.Where("e.account_id IN (?)", bun.List(set.Accounts)).Where(serviceID + " IS NOT NULL")
			if len(set.IDs) > 0 {
				q = q.Where(serviceID+" NOT IN (?)", bun.List(set.IDs))
			}
		case len(set.IDs) == 0:
			return []Notification{}, nil
		default:
			q = q.Where("e.account_id = ?", set.AccountID).Where(serviceID+" IN (?)", bun.List(set.IDs))
		}
	}
	if err := q.OrderExpr("n.seq DESC").Limit(int64(f.Limit)).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("notify: listing notifications: %w", err)
	}
	return out, nil
}

// Unread counts a user's unread notifications.
type Unread struct {
	Total      int              `json:"unread"`
	ByCategory map[Category]int `json:"by_category"`
}

// UnreadCount counts the user's unread notifications, per category.
func (s *Service) UnreadCount(ctx context.Context, userID string) (*Unread, error) {
	var rows []struct {
		Category Category `bun:"category"`
		N        int      `bun:"n"`
	}
	err := s.reader(ctx).NewSelect().TableExpr("notifications").ColumnExpr("category, count(*) AS n").
		Where("user_id = ?", userID).Where("read_at IS NULL").Group("category").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("notify: counting unread: %w", err)
	}
	out := &Unread{ByCategory: map[Category]int{}}
	for _, c := range Categories {
		out.ByCategory[c] = 0
	}
	for _, r := range rows {
		out.ByCategory[r.Category] = r.N
		out.Total += r.N
	}
	return out, nil
}

// MarkRead marks one of the user's notifications read (or unread) and
// returns it. Errors: NotFound (also for another user's notification).
func (s *Service) MarkRead(ctx context.Context, userID, id string, read bool) (*Notification, error) {
	n := &Notification{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Table(notificationsTable).Where("id = ?", id).Where("user_id = ?", userID)
		if read {
			q = q.Set("read_at = ?", s.now()).Where("read_at IS NULL")
		} else {
			q = q.Set("read_at = NULL").Where("read_at IS NOT NULL")
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("notify: marking %s: %w", id, err)
		}
		if changed, _ := res.RowsAffected(); changed > 0 {
			if err := s.signal(ctx, tx, userID); err != nil {
				return err
			}
		}
		err = selectNotifications(tx).Where("n.id = ?", id).Where("n.user_id = ?", userID).Scan(ctx, n)
		if database.IsNoRows(err) {
			return apperr.NotFoundf("no such notification")
		}
		if err != nil {
			return fmt.Errorf("notify: loading %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// MarkAllRead marks every unread notification of the user read (of one
// category when set) and returns how many changed. Errors: Invalid.
func (s *Service) MarkAllRead(ctx context.Context, userID string, category Category) (int, error) {
	if category != "" && !ValidCategory(category) {
		return 0, apperr.Field("category", "must be one of billing, support, system, services")
	}
	var n int64
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewUpdate().Table(notificationsTable).Set("read_at = ?", s.now()).
			Where("user_id = ?", userID).Where("read_at IS NULL")
		if category != "" {
			q = q.Where("category = ?", string(category))
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return fmt.Errorf("notify: marking all read: %w", err)
		}
		n, _ = res.RowsAffected()
		if n > 0 {
			return s.signal(ctx, tx, userID)
		}
		return nil
	})
	return int(n), err
}

// signal records, in tx, that the user's read state changed, for the
// streams of every replica.
func (s *Service) signal(ctx context.Context, tx bun.Tx, userID string) error {
	if _, err := tx.ExecContext(ctx, "INSERT INTO notification_signals (user_id, created_at) VALUES (?, ?)", userID, s.now()); err != nil {
		return fmt.Errorf("notify: recording a read-state change: %w", err)
	}
	return nil
}
