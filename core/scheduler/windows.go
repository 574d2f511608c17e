package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/calendar"
	"github.com/ezscale/platform/core/database"
)

// maxWindows bounds an account's maintenance windows.
const maxWindows = 20

// WindowInput creates or replaces a maintenance window.
type WindowInput struct {
	Name string `json:"name"`
	// Days are weekdays (sun, mon, …); empty = every day.
	Days []string `json:"days"`
	// Start is the local opening time, HH:MM.
	Start           string `json:"start"`
	DurationMinutes int    `json:"duration_minutes"`
	TimeZone        string `json:"time_zone"`
}

func (in *WindowInput) parse() (calendar.Window, error) {
	var errs apperr.Fields
	in.Name = strings.TrimSpace(in.Name)
	validName(&errs, in.Name)
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	for i, d := range in.Days {
		in.Days[i] = strings.ToLower(strings.TrimSpace(d))
	}
	if _, err := calendar.LoadZone(in.TimeZone); err != nil {
		errs.Add("time_zone", "%s", err.Error())
	}
	if _, err := calendar.ParseWindow(nil, in.Start, 60, "UTC"); err != nil {
		errs.Add("start", "%s", err.Error())
	}
	if _, err := calendar.ParseWindow(nil, "00:00", in.DurationMinutes, "UTC"); err != nil {
		errs.Add("duration_minutes", "%s", err.Error())
	}
	if _, err := calendar.ParseWindow(in.Days, "00:00", 60, "UTC"); err != nil {
		errs.Add("days", "%s", err.Error())
	}
	if err := errs.Err(); err != nil {
		return calendar.Window{}, err
	}
	return calendar.ParseWindow(in.Days, in.Start, in.DurationMinutes, in.TimeZone)
}

func (w *Window) fill() {
	w.DayList = []string{}
	if w.Days != "" {
		w.DayList = strings.Split(w.Days, ",")
	}
}

func (w *Window) parsed() (calendar.Window, error) {
	w.fill()
	return calendar.ParseWindow(w.DayList, w.StartTime, w.DurationMinutes, w.TimeZone)
}

// CreateWindow adds a maintenance window to the account. Errors: Invalid
// naming the field, Conflict beyond the limit of windows.
func (s *Service) CreateWindow(ctx context.Context, accountID string, in WindowInput) (*Window, error) {
	if _, err := in.parse(); err != nil {
		return nil, err
	}
	now := s.now()
	w := &Window{ID: newID(), AccountID: accountID, Name: in.Name, Days: strings.Join(in.Days, ","), StartTime: in.Start,
		DurationMinutes: in.DurationMinutes, TimeZone: in.TimeZone, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*Window)(nil)).Where("account_id = ?", accountID).Count(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: counting windows: %w", err)
		}
		if n >= maxWindows {
			return apperr.New(apperr.Conflict, "an account has at most %d maintenance windows", maxWindows).WithReason("too_many_windows")
		}
		if _, err := tx.NewInsert().Model(w).Exec(ctx); err != nil {
			return fmt.Errorf("scheduler: storing window: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.window.create", AccountID: accountID, TargetType: "maintenance_window", TargetID: w.ID,
			Changes: map[string]any{"days": w.Days, "start": w.StartTime, "duration_minutes": w.DurationMinutes, "time_zone": w.TimeZone}})
		return err
	})
	if err != nil {
		return nil, err
	}
	w.fill()
	return w, nil
}

// UpdateWindow replaces a window's settings. Runs already waiting for a
// window keep their start time. Errors: NotFound, Invalid.
func (s *Service) UpdateWindow(ctx context.Context, accountID, id string, in WindowInput) (*Window, error) {
	if _, err := in.parse(); err != nil {
		return nil, err
	}
	w := &Window{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		err := tx.NewUpdate().Model(w).
			Set("name = ?", in.Name).Set("days = ?", strings.Join(in.Days, ",")).Set("start_time = ?", in.Start).
			Set("duration_minutes = ?", in.DurationMinutes).Set("time_zone = ?", in.TimeZone).Set("updated_at = ?", s.now()).
			Where("id = ?", id).Where("account_id = ?", accountID).Returning("*").Scan(ctx)
		if database.IsNoRows(err) {
			return apperr.NotFoundf("no such maintenance window")
		}
		if err != nil {
			return fmt.Errorf("scheduler: updating window %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.window.update", AccountID: accountID, TargetType: "maintenance_window", TargetID: id,
			Changes: map[string]any{"days": w.Days, "start": w.StartTime, "duration_minutes": w.DurationMinutes, "time_zone": w.TimeZone}})
		return err
	})
	if err != nil {
		return nil, err
	}
	w.fill()
	return w, nil
}

// DeleteWindow removes a window. Errors: NotFound.
func (s *Service) DeleteWindow(ctx context.Context, accountID, id string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*Window)(nil)).Where("id = ?", id).Where("account_id = ?", accountID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: deleting window %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("no such maintenance window")
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.window.delete", AccountID: accountID, TargetType: "maintenance_window", TargetID: id})
		return err
	})
}

// Window returns one window. Errors: NotFound.
func (s *Service) Window(ctx context.Context, accountID, id string) (*Window, error) {
	w := &Window{}
	err := s.db.Conn(ctx).NewSelect().Model(w).Where("id = ?", id).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such maintenance window")
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: loading window %s: %w", id, err)
	}
	w.fill()
	return w, nil
}

// Windows lists the account's windows (few: one page).
func (s *Service) Windows(ctx context.Context, accountID string) ([]*Window, error) {
	var ws []*Window
	if err := s.db.Conn(ctx).NewSelect().Model(&ws).Where("account_id = ?", accountID).OrderExpr("id ASC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("scheduler: listing windows: %w", err)
	}
	for _, w := range ws {
		w.fill()
	}
	return ws, nil
}

// accountWindows loads the parsed windows of the accounts.
func (s *Service) accountWindows(ctx context.Context, db bun.IDB, accountIDs []string) (map[string][]calendar.Window, error) {
	out := map[string][]calendar.Window{}
	if len(accountIDs) == 0 {
		return out, nil
	}
	var ws []*Window
	if err := db.NewSelect().Model(&ws).Where("account_id IN (?)", bun.List(accountIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("scheduler: loading windows: %w", err)
	}
	for _, w := range ws {
		p, err := w.parsed()
		if err != nil {
			// Validated when saved; a zone removed from tzdata since is
			// ignored rather than blocking every task of the account.
			s.log.Warn("ignoring an unusable maintenance window", "window_id", w.ID, "error", err)
			continue
		}
		out[w.AccountID] = append(out[w.AccountID], p)
	}
	return out, nil
}

// earliest is when a run due at due may start, seen at now.
func earliest(windows []calendar.Window, due, now time.Time) time.Time {
	return calendar.EarliestAllowed(windows, later(due, now))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
