package compliance

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
)

// KindReminders is the daily reminder job.
const KindReminders = "compliance_reminders"

type remindersArgs struct{}

func (remindersArgs) Kind() string { return KindReminders }

type remindersWorker struct {
	river.WorkerDefaults[remindersArgs]
	s *Service
}

func (w *remindersWorker) Timeout(*river.Job[remindersArgs]) time.Duration { return time.Minute }

func (w *remindersWorker) Work(ctx context.Context, _ *river.Job[remindersArgs]) error {
	_, err := w.s.SendReminders(ctx)
	return err
}

func registerReminders(reg *jobs.Registry, s *Service) {
	jobs.Add(reg, &remindersWorker{s: s})
	reg.Periodic(KindReminders, 24*time.Hour, func() river.JobArgs { return remindersArgs{} })
}

// due is a review or assessment falling due.
type due struct {
	Kind, ID, Name, Date string
}

// SendReminders tells the staff owners of every policy review and vendor
// assessment due within ReminderLead (or overdue), once per record and
// due date: the notification's key makes a second reminder for the same
// date a no-op. It returns how many reminders it sent (not counting repeats).
func (s *Service) SendReminders(ctx context.Context) (int, error) {
	if s.opts.Notifier == nil {
		return 0, nil
	}
	now := s.now()
	horizon := now.Add(s.opts.ReminderLead).Format(dateLayout)
	db := s.db.Conn(ctx)
	var items []due
	var ps []Policy
	if err := db.NewSelect().Model(&ps).Where("next_review <= ?", horizon).Order("id").Scan(ctx); err != nil {
		return 0, fmt.Errorf("compliance: listing policies due: %w", err)
	}
	for _, p := range ps {
		items = append(items, due{Kind: "policy", ID: p.ID, Name: p.Title, Date: p.NextReview})
	}
	var vs []Vendor
	if err := db.NewSelect().Model(&vs).Where("next_assessment <= ?", horizon).Order("id").Scan(ctx); err != nil {
		return 0, fmt.Errorf("compliance: listing vendors due: %w", err)
	}
	for _, v := range vs {
		items = append(items, due{Kind: "vendor", ID: v.ID, Name: v.Name, Date: v.NextAssessment})
	}
	if len(items) == 0 {
		return 0, nil
	}
	owners, err := s.dir.Owners(ctx)
	if err != nil {
		return 0, err
	}
	if len(owners) == 0 {
		return 0, nil
	}
	today := now.Format(dateLayout)
	sent := 0
	for _, it := range items {
		d, _ := time.Parse(dateLayout, it.Date)
		t, _ := time.Parse(dateLayout, today)
		link := "/staff/compliance/policies/" + it.ID
		what := "review"
		if it.Kind == "vendor" {
			link, what = "/staff/compliance/vendors/"+it.ID, "assessment"
		}
		ev := notify.Event{Type: notify.ComplianceReviewDue, UserIDs: owners, Link: link,
			Key:  fmt.Sprintf("%s:%s:%s:%s", notify.ComplianceReviewDue, it.Kind, it.ID, it.Date),
			Data: map[string]any{"kind": it.Kind, "what": what, "id": it.ID, "name": it.Name, "due_date": it.Date, "days_left": int(d.Sub(t).Hours() / 24)}}
		var fresh bool
		err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
			res, err := s.opts.Notifier.Send(ctx, tx, ev)
			fresh = err == nil && !res.Duplicate
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("compliance: reminding of %s %s: %w", it.Kind, it.ID, err)
		}
		if fresh {
			sent++
		}
	}
	return sent, nil
}
