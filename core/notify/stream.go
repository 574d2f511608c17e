package notify

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/database"
)

// Live streams work across replicas without an in-process bus: each
// replica runs one poller (only while it has subscribers) that reads what
// every replica committed since its cursor, in two cheap indexed queries
// per interval whatever the number of streams:
//
//   - new notifications: on SQLite by seq (one writer, so rows commit in
//     seq order); on PostgreSQL by (txid, seq) below the oldest running
//     transaction (pg_snapshot_xmin), so a row whose transaction commits
//     late is still read, once. The price: a long transaction anywhere
//     delays streams (never loses events).
//   - notification_signals: read-state changes, for the unread count.
//
// The poller hands each event to the subscriptions of that user on this
// replica only.

// StreamEvent is one thing a stream sends: a new notification, or the
// user's unread count.
type StreamEvent struct {
	Notification *Notification
	Unread       *Unread
}

// Subscription is one live stream of a user.
type Subscription struct {
	// C carries the events; it is closed when the subscription ends
	// (Close, the service stopping, or a consumer too slow to keep up —
	// the client reconnects and reloads then).
	C      <-chan StreamEvent
	ch     chan StreamEvent
	userID string
	h      *hub
	once   sync.Once
	// slot is the stream's row in notification_streams, freed by Close.
	slot    string
	release sync.Once
}

// subscriptionBuffer is how many events may wait for a slow client before
// its stream is dropped.
const subscriptionBuffer = 64

// Subscribe opens a live feed of the user's new notifications and unread
// count. Close it when done. A user holds at most
// Options.StreamMaxPerUser open subscriptions across all replicas; beyond
// that Subscribe refuses with RateLimited.
func (s *Service) Subscribe(ctx context.Context, userID string) (*Subscription, error) {
	return s.hub.subscribe(ctx, userID)
}

// Close ends the subscription and frees its place under the user's cap.
func (sub *Subscription) Close() {
	sub.h.remove(sub)
	sub.release.Do(func() { sub.h.s.releaseStream(sub.slot) })
}

// StreamTiming returns the heartbeat period and the longest life of one
// stream.
func (s *Service) StreamTiming() (heartbeat, maxDuration time.Duration) {
	return s.opts.StreamHeartbeat, s.opts.StreamMaxDuration
}

// Since returns up to limit of the user's notifications newer than the one
// with id afterID, oldest first (a reconnecting stream's Last-Event-ID).
// An unknown id returns nothing.
func (s *Service) Since(ctx context.Context, userID, afterID string, limit int) ([]Notification, error) {
	var seq int64
	err := s.reader(ctx).NewSelect().Table("notifications").Column("seq").
		Where("id = ?", afterID).Where("user_id = ?", userID).Scan(ctx, &seq)
	if database.IsNoRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("notify: finding %s: %w", afterID, err)
	}
	var out []Notification
	if err := selectNotifications(s.reader(ctx)).Where("n.user_id = ?", userID).Where("n.seq > ?", seq).
		OrderExpr("n.seq ASC").Limit(int64(limit)).Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("notify: listing since %s: %w", afterID, err)
	}
	return out, nil
}

type cursor struct {
	txid, seq int64
}

type hub struct {
	s       *Service
	mu      sync.Mutex
	subs    map[string]map[*Subscription]struct{}
	running bool
	stopped bool
	// gen numbers poller runs: a run that was stopped while polling must
	// not move the cursors of the run that replaced it.
	gen     int
	cancel  context.CancelFunc
	done    chan struct{}
	notes   cursor
	signals cursor
	// replica names this process's rows in notification_streams;
	// renewed is when the poll loop last renewed their lease.
	replica string
	renewed time.Time
}

func newHub(s *Service) *hub {
	return &hub{s: s, subs: map[string]map[*Subscription]struct{}{}, replica: uuid.Must(uuid.NewV7()).String()}
}

func (h *hub) subscribe(ctx context.Context, userID string) (*Subscription, error) {
	h.mu.Lock()
	stopped := h.stopped
	h.mu.Unlock()
	if stopped {
		return nil, fmt.Errorf("notify: the service is stopping")
	}
	// The slot is claimed before the subscription exists (a database
	// write, made without holding the hub's lock).
	slot, err := h.s.claimStream(ctx, userID, h.replica)
	if err != nil {
		return nil, err
	}
	sub, err := h.add(ctx, userID, slot)
	if err != nil {
		h.s.releaseStream(slot)
		return nil, err
	}
	return sub, nil
}

func (h *hub) add(ctx context.Context, userID, slot string) (*Subscription, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, fmt.Errorf("notify: the service is stopping")
	}
	if !h.running {
		// The cursors start at the present before the subscription is
		// visible, so nothing committed after this call is missed.
		notes, err := h.head(ctx, "notifications")
		if err != nil {
			return nil, err
		}
		signals, err := h.head(ctx, "notification_signals")
		if err != nil {
			return nil, err
		}
		h.notes, h.signals = notes, signals
		h.renewed = h.s.now()
		pctx, cancel := context.WithCancel(context.Background())
		h.gen++
		h.cancel, h.done, h.running = cancel, make(chan struct{}), true
		go h.loop(pctx, h.done, h.gen)
	}
	sub := &Subscription{ch: make(chan StreamEvent, subscriptionBuffer), userID: userID, h: h, slot: slot}
	sub.C = sub.ch
	if h.subs[userID] == nil {
		h.subs[userID] = map[*Subscription]struct{}{}
	}
	h.subs[userID][sub] = struct{}{}
	return sub, nil
}

func (h *hub) remove(sub *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(sub)
}

func (h *hub) removeLocked(sub *Subscription) {
	if set, ok := h.subs[sub.userID]; ok {
		if _, ok := set[sub]; ok {
			delete(set, sub)
			if len(set) == 0 {
				delete(h.subs, sub.userID)
			}
		}
	}
	sub.once.Do(func() { close(sub.ch) })
	if len(h.subs) == 0 && h.running {
		// No one listens on this replica: stop polling.
		h.cancel()
		h.running = false
	}
}

func (h *hub) stop() {
	h.mu.Lock()
	h.stopped = true
	var all []*Subscription
	for _, set := range h.subs {
		for sub := range set {
			all = append(all, sub)
		}
	}
	for _, sub := range all {
		h.removeLocked(sub)
	}
	done := h.done
	h.mu.Unlock()
	if done != nil {
		<-done
	}
	h.s.releaseReplica(h.replica)
}

// head is a table's current cursor position.
func (h *hub) head(ctx context.Context, table string) (cursor, error) {
	var c cursor
	var err error
	if h.s.db.Dialect == database.Postgres {
		err = h.s.db.Read.NewRaw("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint").Scan(ctx, &c.txid)
	} else {
		err = h.s.db.Read.NewRaw("SELECT COALESCE(max(seq), 0) FROM "+table).Scan(ctx, &c.seq)
	}
	if err != nil {
		return c, fmt.Errorf("notify: reading the %s cursor: %w", table, err)
	}
	return c, nil
}

func (h *hub) loop(ctx context.Context, done chan struct{}, gen int) {
	defer close(done)
	t := time.NewTicker(h.s.opts.StreamPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.poll(ctx, gen); err != nil && ctx.Err() == nil {
			h.s.opts.Logger.Warn("notification stream poll failed", "error", err)
		}
		if err := h.renew(ctx); err != nil && ctx.Err() == nil {
			h.s.opts.Logger.Warn("renewing notification stream slots failed", "error", err)
		}
	}
}

// renew extends the lease of this replica's stream slots once per
// streamRenew, while it has streams.
func (h *hub) renew(ctx context.Context) error {
	now := h.s.now()
	h.mu.Lock()
	due := now.Sub(h.renewed) >= streamRenew
	h.mu.Unlock()
	if !due {
		return nil
	}
	if err := h.s.renewStreams(ctx, h.replica); err != nil {
		return err
	}
	h.mu.Lock()
	h.renewed = now
	h.mu.Unlock()
	return nil
}

// feedPage bounds one read of the change feed; a tick reads at most
// feedPages pages, the rest waits for the next tick.
const (
	feedPage  = 5000
	feedPages = 40
)

type feedRow struct {
	Seq    int64  `bun:"seq"`
	TxID   int64  `bun:"txid"`
	ID     string `bun:"id"`
	UserID string `bun:"user_id"`
}

// readFeed returns rows of table after cur (committed, in commit-safe
// order) and the advanced cursor.
func (h *hub) readFeed(ctx context.Context, table, cols string, cur cursor) ([]feedRow, cursor, error) {
	var out []feedRow
	for range feedPages {
		var rows []feedRow
		var q *bun.RawQuery
		if h.s.db.Dialect == database.Postgres {
			q = h.s.db.Read.NewRaw("SELECT seq, txid, "+cols+" FROM "+table+
				" WHERE (txid, seq) > (?, ?) AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint"+
				" ORDER BY txid, seq LIMIT ?", cur.txid, cur.seq, feedPage)
		} else {
			q = h.s.db.Read.NewRaw("SELECT seq, 0 AS txid, "+cols+" FROM "+table+" WHERE seq > ? ORDER BY seq LIMIT ?", cur.seq, feedPage)
		}
		if err := q.Scan(ctx, &rows); err != nil {
			return nil, cur, fmt.Errorf("notify: reading %s: %w", table, err)
		}
		if len(rows) > 0 {
			last := rows[len(rows)-1]
			cur = cursor{txid: last.TxID, seq: last.Seq}
		}
		out = append(out, rows...)
		if len(rows) < feedPage {
			break
		}
	}
	return out, cur, nil
}

// poll reads both feeds and delivers to this replica's subscribers.
func (h *hub) poll(ctx context.Context, gen int) error {
	h.mu.Lock()
	notesCur, sigCur := h.notes, h.signals
	h.mu.Unlock()

	notes, notesNext, err := h.readFeed(ctx, "notifications", "id, user_id", notesCur)
	if err != nil {
		return err
	}
	signals, sigNext, err := h.readFeed(ctx, "notification_signals", "'' AS id, user_id", sigCur)
	if err != nil {
		return err
	}
	h.mu.Lock()
	if h.gen != gen {
		h.mu.Unlock()
		return nil
	}
	h.notes, h.signals = notesNext, sigNext
	var ids []string
	affected := map[string]bool{}
	for _, r := range notes {
		if _, ok := h.subs[r.UserID]; ok {
			ids = append(ids, r.ID)
			affected[r.UserID] = true
		}
	}
	for _, r := range signals {
		if _, ok := h.subs[r.UserID]; ok {
			affected[r.UserID] = true
		}
	}
	h.mu.Unlock()
	if len(affected) == 0 {
		return nil
	}

	var full []Notification
	for i := 0; i < len(ids); i += 500 {
		var part []Notification
		if err := selectNotifications(h.s.db.Read).Where("n.id IN (?)", bun.List(ids[i:min(i+500, len(ids))])).
			OrderExpr("n.seq ASC").Scan(ctx, &part); err != nil {
			return fmt.Errorf("notify: loading streamed notifications: %w", err)
		}
		full = append(full, part...)
	}
	users := make([]string, 0, len(affected))
	for u := range affected {
		users = append(users, u)
	}
	counts, err := h.s.unreadCounts(ctx, users)
	if err != nil {
		return err
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range full {
		h.sendLocked(full[i].UserID, StreamEvent{Notification: &full[i]})
	}
	for _, u := range users {
		h.sendLocked(u, StreamEvent{Unread: counts[u]})
	}
	return nil
}

// sendLocked offers ev to the user's subscriptions; one whose buffer is
// full is dropped rather than allowed to block the others.
func (h *hub) sendLocked(userID string, ev StreamEvent) {
	for sub := range h.subs[userID] {
		select {
		case sub.ch <- ev:
		default:
			h.removeLocked(sub)
		}
	}
}

// unreadCounts counts unread notifications of many users at once.
func (s *Service) unreadCounts(ctx context.Context, users []string) (map[string]*Unread, error) {
	out := make(map[string]*Unread, len(users))
	for _, u := range users {
		un := &Unread{ByCategory: map[Category]int{}}
		for _, c := range Categories {
			un.ByCategory[c] = 0
		}
		out[u] = un
	}
	for i := 0; i < len(users); i += 500 {
		var rows []struct {
			UserID   string   `bun:"user_id"`
			Category Category `bun:"category"`
			N        int      `bun:"n"`
		}
		err := s.db.Read.NewSelect().TableExpr("notifications").ColumnExpr("user_id, category, count(*) AS n").
			Where("user_id IN (?)", bun.List(users[i:min(i+500, len(users))])).Where("read_at IS NULL").
			Group("user_id", "category").Scan(ctx, &rows)
		if err != nil {
			return nil, fmt.Errorf("notify: counting unread: %w", err)
		}
		for _, r := range rows {
			out[r.UserID].ByCategory[r.Category] = r.N
			out[r.UserID].Total += r.N
		}
	}
	return out, nil
}
