package provisioning

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/services"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/catalog"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/notify"
)

// FreeTierService is a free-tier service's slot: the account's one free
// sandbox while ended_at is NULL (a partial unique index), and the
// inactivity clock.
type FreeTierService struct {
	bun.BaseModel `bun:"table:free_tier_services"`

	ServiceID      string     `bun:"service_id,pk" json:"service_id"`
	AccountID      string     `bun:"account_id" json:"account_id"`
	PlanID         string     `bun:"plan_id" json:"plan_id"`
	LastActivityAt time.Time  `bun:"last_activity_at" json:"last_activity_at"`
	WarnedAt       *time.Time `bun:"warned_at" json:"warned_at"`
	EndedAt        *time.Time `bun:"ended_at" json:"ended_at"`
	EndReason      string     `bun:"end_reason" json:"end_reason"`
	CreatedAt      time.Time  `bun:"created_at" json:"created_at"`
}

// FreeTierStatus is what the customer is told about a free-tier service.
type FreeTierStatus struct {
	FreeTierService
	// TerminatesAt is when the service will be terminated if it stays
	// unused (never before a warning has been out FreeTierWarnBefore).
	TerminatesAt *time.Time `json:"terminates_at"`
	// InactivityDays is the rule: terminated after this many days unused.
	InactivityDays int `json:"inactivity_days"`
}

// admitFreeTier is billing's order hook: an order of a free-tier plan
// needs a verified email address and two-factor authentication on (the
// ordering user's, or the account owner's when staff or the system order),
// and takes the account's one free slot. The slot is a row under a partial
// unique index, so two concurrent orders cannot both take it. Errors:
// Unprocessable (free_tier_unverified, free_tier_2fa_required,
// free_tier_limit).
func (s *Service) admitFreeTier(ctx context.Context, tx bun.Tx, svc *billing.Service, plan *catalog.Plan) error {
	if !plan.FreeTier {
		return nil
	}
	verified, totp, err := s.ordererSecurity(ctx, tx, svc.AccountID)
	if err != nil {
		return err
	}
	switch {
	case !verified:
		return apperr.Refusal("plan_id", "free_tier_unverified", "the free tier needs a verified email address; confirm yours first")
	case !totp:
		return apperr.Refusal("plan_id", "free_tier_2fa_required", "the free tier needs two-factor authentication; turn it on first")
	}
	now := s.now()
	slot := &FreeTierService{ServiceID: svc.ID, AccountID: svc.AccountID, PlanID: plan.ID, LastActivityAt: now, CreatedAt: now}
	// The conflict is detected without an error, so PostgreSQL's
	// transaction stays usable for the refusal's caller.
	res, err := tx.NewInsert().Model(slot).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return fmt.Errorf("provisioning: taking the free-tier slot: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return apperr.Refusal("plan_id", "free_tier_limit", "this account already has a free-tier service; one is allowed per account")
	}
	return nil
}

// ordererSecurity reports whether the user placing the order (from the
// request's audit actor) has a verified email and two-factor on; for staff
// or system orders, the account's owner.
func (s *Service) ordererSecurity(ctx context.Context, tx bun.Tx, accountID string) (verified, totp bool, err error) {
	meta := audit.MetaFrom(ctx)
	var userID string
	switch meta.ActorType {
	case audit.ActorUser, audit.ActorAPIToken:
		userID, _, _ = strings.Cut(meta.ActorID, "/") // api_token actors are "user/token"
	default:
		if userID, err = s.accounts.FirstOwner(ctx, tx, accountID); err != nil || userID == "" {
			return false, false, err
		}
	}
	sec, err := s.accounts.SecurityOf(ctx, tx, userID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("provisioning: reading the orderer's security: %w", err)
	}
	return sec.EmailVerified, sec.TwoFactor, nil
}

// followStatus is billing's service-status hook: a free-tier service that
// ends (terminated, cancelled, failed) gives its slot back; one that staff
// provision again after a failure takes it again (refused when the account
// took another meanwhile).
func (s *Service) followStatus(ctx context.Context, tx bun.Tx, svc *services.Service, from string) error {
	if svc.Environment != services.EnvDevelopment {
		return nil
	}
	now := s.now()
	switch {
	case !services.IsLive(svc.Status):
		_, err := tx.NewUpdate().Model((*FreeTierService)(nil)).Set("ended_at = ?", now).Set("end_reason = ?", svc.Status).
			Where("service_id = ?", svc.ID).Where("ended_at IS NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("provisioning: ending the free-tier slot of %s: %w", svc.ID, err)
		}
	case svc.Status == services.StatusProvisioning:
		if from != services.StatusFailed {
			return nil
		}
		res, err := tx.NewRaw(`UPDATE free_tier_services SET ended_at = NULL, end_reason = '', last_activity_at = ?
			WHERE service_id = ? AND ended_at IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM free_tier_services o WHERE o.account_id = free_tier_services.account_id AND o.ended_at IS NULL)`,
			now, svc.ID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("provisioning: reopening the free-tier slot of %s: %w", svc.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.Conflict, "the account has another free-tier service now").WithReason("free_tier_limit")
		}
	}
	return nil
}

// RecordActivity notes that the customer used a service (an API call on
// it), for the free tier's inactivity clock. It writes at most once per
// ActivityResolution per service and nothing for other services, after a
// read, so calling it on every request is cheap. Errors are the caller's
// to log: activity is never worth failing a request for.
func (s *Service) RecordActivity(ctx context.Context, accountID, serviceID string) error {
	now := s.now()
	var last time.Time
	err := s.db.Read.NewSelect().Table("free_tier_services").Column("last_activity_at").
		Where("service_id = ?", serviceID).Where("account_id = ?", accountID).Where("ended_at IS NULL").Scan(ctx, &last)
	if database.IsNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("provisioning: reading activity of %s: %w", serviceID, err)
	}
	if now.Sub(last) < s.opts.ActivityResolution {
		return nil
	}
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error { return s.touch(ctx, tx, accountID, serviceID, now) })
}

// touch moves a free-tier service's activity clock to now inside tx.
func (s *Service) touch(ctx context.Context, tx bun.Tx, accountID, serviceID string, now time.Time) error {
	_, err := tx.NewUpdate().Model((*FreeTierService)(nil)).Set("last_activity_at = ?", now).
		Where("service_id = ?", serviceID).Where("account_id = ?", accountID).Where("ended_at IS NULL").
		Where("last_activity_at < ?", now).Exec(ctx)
	if err != nil {
		return fmt.Errorf("provisioning: recording activity of %s: %w", serviceID, err)
	}
	return nil
}

// FreeTier returns the free-tier status of one of the account's services.
// Errors: NotFound (not the account's, or not a free-tier service).
func (s *Service) FreeTier(ctx context.Context, accountID, serviceID string) (*FreeTierStatus, error) {
	row := &FreeTierService{}
	err := s.db.Conn(ctx).NewSelect().Model(row).Where("service_id = ?", serviceID).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("this service is not on the free tier")
	}
	if err != nil {
		return nil, fmt.Errorf("provisioning: loading free-tier status of %s: %w", serviceID, err)
	}
	st := &FreeTierStatus{FreeTierService: *row, InactivityDays: int(s.opts.FreeTierInactivity / (24 * time.Hour))}
	if row.EndedAt == nil {
		at := s.terminatesAt(row)
		st.TerminatesAt = &at
	}
	return st, nil
}

// terminatesAt is the earliest a slot can be terminated: the inactivity
// deadline, and never less than FreeTierWarnBefore after the warning of
// the current idle stretch (or after now, when none was sent yet).
func (s *Service) terminatesAt(row *FreeTierService) time.Time {
	at := row.LastActivityAt.Add(s.opts.FreeTierInactivity)
	warned := s.now()
	if row.WarnedAt != nil && !row.WarnedAt.Before(row.LastActivityAt) {
		warned = *row.WarnedAt
	}
	if min := warned.Add(s.opts.FreeTierWarnBefore); at.Before(min) {
		at = min
	}
	return at
}

// sweepArgs is the periodic free-tier inactivity sweep.
type sweepArgs struct{}

func (sweepArgs) Kind() string { return "provisioning_free_tier_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[sweepArgs]
	s *Service
}

// Timeout: each service is its own transaction; a sweep cut short is
// finished by the next one.
func (w *sweepWorker) Timeout(*river.Job[sweepArgs]) time.Duration { return 2 * time.Minute }

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[sweepArgs]) error {
	st, err := w.s.SweepFreeTier(ctx)
	if st.Warned+st.Terminated > 0 {
		w.s.log.Info("free-tier inactivity sweep", "warned", st.Warned, "terminated", st.Terminated)
	}
	return err
}

// SweepStats counts what a sweep did.
type SweepStats struct {
	Warned, Terminated int
}

// SweepFreeTier warns the customers of free-tier services idle for
// FreeTierInactivity less FreeTierWarnBefore, and terminates those idle
// for FreeTierInactivity whose warning went out at least
// FreeTierWarnBefore ago. Each service is its own transaction, so one
// failure stops nothing else; the sweep is idempotent (the warning is keyed
// by the idle stretch, a termination ends the slot).
func (s *Service) SweepFreeTier(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	now := s.now()
	cutoff := now.Add(-(s.opts.FreeTierInactivity - s.opts.FreeTierWarnBefore))
	var afterAt time.Time
	afterID := ""
	var firstErr error
	for {
		var rows []FreeTierService
		q := s.db.NewSelect().Model(&rows).Where("ended_at IS NULL").Where("last_activity_at <= ?", cutoff).
			OrderExpr("last_activity_at ASC, service_id ASC").Limit(500)
		if afterID != "" {
			q = q.Where("(last_activity_at > ? OR (last_activity_at = ? AND service_id > ?))", afterAt, afterAt, afterID)
		}
		if err := q.Scan(ctx); err != nil {
			return st, fmt.Errorf("provisioning: selecting idle free-tier services: %w", err)
		}
		if len(rows) == 0 {
			return st, firstErr
		}
		for i := range rows {
			row := &rows[i]
			warnedThisStretch := row.WarnedAt != nil && !row.WarnedAt.Before(row.LastActivityAt)
			var err error
			switch {
			case !warnedThisStretch:
				err = s.warnIdle(ctx, row, now)
				if err == nil {
					st.Warned++
				}
			case !now.Before(s.terminatesAt(row)):
				var done bool
				done, err = s.terminateIdle(ctx, row, now)
				if done {
					st.Terminated++
				}
			}
			if err != nil {
				s.log.Warn("free-tier sweep", "service_id", row.ServiceID, "error", err)
				if firstErr == nil {
					firstErr = err
				}
			}
		}
		last := rows[len(rows)-1]
		afterAt, afterID = last.LastActivityAt, last.ServiceID
	}
}

// warnIdle records the warning of the current idle stretch and tells the
// account's technical members, in one transaction; a slot used meanwhile
// is left alone.
func (s *Service) warnIdle(ctx context.Context, row *FreeTierService, now time.Time) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*FreeTierService)(nil)).Set("warned_at = ?", now).
			Where("service_id = ?", row.ServiceID).Where("ended_at IS NULL").Where("last_activity_at = ?", row.LastActivityAt).
			Where("(warned_at IS NULL OR warned_at < last_activity_at)").Exec(ctx)
		if err != nil {
			return fmt.Errorf("provisioning: recording the inactivity warning of %s: %w", row.ServiceID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		w := *row
		w.WarnedAt = &now
		terminateOn := s.terminatesAt(&w)
		facts, err := s.services.Facts(ctx, tx, []string{row.ServiceID})
		if err != nil {
			return fmt.Errorf("provisioning: naming %s: %w", row.ServiceID, err)
		}
		name := facts[row.ServiceID].Name
		idle := int(now.Sub(row.LastActivityAt) / (24 * time.Hour))
		if s.notifier != nil {
			err := s.notifier.Notify(ctx, tx, notify.Event{
				Type: notify.ServiceInactive, AccountID: row.AccountID, Link: "/services/" + row.ServiceID,
				Key:  "service.inactive:" + row.ServiceID + ":" + row.LastActivityAt.UTC().Format(time.RFC3339Nano),
				Data: map[string]any{"service_id": row.ServiceID, "service_name": name, "idle_days": idle, "terminate_on": terminateOn.Format("2006-01-02")},
			})
			if err != nil {
				return err
			}
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "provisioning.free_tier.inactivity_warning", AccountID: row.AccountID,
			TargetType: "service", TargetID: row.ServiceID,
			Changes: map[string]any{"last_activity_at": row.LastActivityAt, "terminates_at": terminateOn, "idle_days": idle}})
		return err
	})
}

// terminateIdle terminates the service through billing (which queues the
// backend's termination) and records why, in one transaction, and reports
// whether it did; a slot used or ended since it was read is left alone.
func (s *Service) terminateIdle(ctx context.Context, row *FreeTierService, now time.Time) (bool, error) {
	done := false
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var still int
		err := tx.NewSelect().Model((*FreeTierService)(nil)).ColumnExpr("1").Where("service_id = ?", row.ServiceID).
			Where("ended_at IS NULL").Where("last_activity_at = ?", row.LastActivityAt).Scan(ctx, &still)
		if database.IsNoRows(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("provisioning: re-reading the free-tier slot of %s: %w", row.ServiceID, err)
		}
		idle := int(now.Sub(row.LastActivityAt) / (24 * time.Hour))
		_, err = s.billing.Terminate(ctx, row.ServiceID, fmt.Sprintf("free tier: unused for %d days", idle))
		switch apperr.CodeOf(err) {
		case "":
		case apperr.Conflict: // ended meanwhile by other means
			_, err = tx.NewUpdate().Model((*FreeTierService)(nil)).Set("ended_at = ?", now).Set("end_reason = 'ended'").
				Where("service_id = ?", row.ServiceID).Where("ended_at IS NULL").Exec(ctx)
			return err
		default:
			return err
		}
		if _, err := tx.NewUpdate().Model((*FreeTierService)(nil)).Set("end_reason = 'inactivity'").
			Where("service_id = ?", row.ServiceID).Exec(ctx); err != nil {
			return fmt.Errorf("provisioning: recording why %s ended: %w", row.ServiceID, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "provisioning.free_tier.inactivity_termination", AccountID: row.AccountID,
			TargetType: "service", TargetID: row.ServiceID, Changes: map[string]any{"last_activity_at": row.LastActivityAt, "idle_days": idle}})
		done = err == nil
		return err
	})
	return done && err == nil, err
}
