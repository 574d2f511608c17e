package scheduler

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/calendar"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/sdk"
)

// Limits of a task.
const (
	maxNameLen     = 100
	maxScriptBytes = 16 << 10
	maxOutputBytes = 16 << 10
	maxErrorBytes  = 2 << 10
	// PreviewRuns is how many due times a preview shows.
	PreviewRuns = 5
)

// capabilityOf is the provisioner capability each task type needs.
var capabilityOf = map[string]sdk.Capability{
	TypeReboot:       sdk.CapPower,
	TypeSnapshot:     sdk.CapSnapshot,
	TypeBackup:       sdk.CapBackup,
	TypeCustomScript: sdk.CapRunScript,
}

// taskTypes are the task types, in the order they are listed.
var taskTypes = []string{TypeReboot, TypeSnapshot, TypeBackup, TypeCustomScript}

// TaskType is one task type and whether a service's provisioner offers it.
type TaskType struct {
	Type string `json:"type"`
	// Supported: a task of this type can be created for the service.
	Supported bool `json:"supported"`
	// Capability is the provisioner capability the type needs.
	Capability string `json:"capability"`
}

// TaskTypes lists every task type and whether the service's provisioner
// supports it, from the capabilities its plugin describes (the same
// answer CreateTask gives). Errors: NotFound (another account's service),
// Unavailable (the plugin has not described itself yet).
func (s *Service) TaskTypes(ctx context.Context, accountID, serviceID string) ([]TaskType, error) {
	svc, err := s.service(ctx, s.db.ReadConn(ctx), accountID, serviceID, "")
	if err != nil {
		return nil, err
	}
	caps, err := s.capabilities(svc.Plugin)
	if err != nil {
		return nil, err
	}
	out := make([]TaskType, 0, len(taskTypes))
	for _, typ := range taskTypes {
		c := string(capabilityOf[typ])
		out = append(out, TaskType{Type: typ, Supported: slices.Contains(caps, c), Capability: c})
	}
	return out, nil
}

// TaskInput creates a task.
type TaskInput struct {
	ServiceID string `json:"service_id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	// Script is required for custom_script and refused for other types.
	Script   string `json:"script"`
	Cron     string `json:"cron"`
	TimeZone string `json:"time_zone"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled"`
	// Notify is none, failure (the default) or always.
	Notify string `json:"notify"`
	// MaxRetries (0-10, default 3) after the first attempt.
	MaxRetries *int `json:"max_retries"`
}

// TaskPatch changes a task; absent fields keep their value. The service and
// the type of a task do not change (create another task).
type TaskPatch struct {
	Name       *string `json:"name"`
	Script     *string `json:"script"`
	Cron       *string `json:"cron"`
	TimeZone   *string `json:"time_zone"`
	Enabled    *bool   `json:"enabled"`
	Notify     *string `json:"notify"`
	MaxRetries *int    `json:"max_retries"`
}

// Preview is the answer to a schedule preview.
type Preview struct {
	// NextRuns are the next due times of the expression.
	NextRuns []time.Time `json:"next_runs"`
	// StartsAt are when those runs may start given the account's
	// maintenance windows (the same as NextRuns without windows).
	StartsAt []time.Time `json:"starts_at"`
}

// ParseSchedule validates a cron expression and time zone, naming the field
// at fault: time_zone for an unknown zone, cron for the expression.
func ParseSchedule(expr, tz string) (*calendar.Cron, error) {
	if _, err := calendar.LoadZone(tz); err != nil {
		return nil, apperr.Field("time_zone", "%s", err.Error())
	}
	c, err := calendar.ParseCron(expr, tz)
	if err != nil {
		return nil, apperr.Field("cron", "%s", err.Error())
	}
	return c, nil
}

// PreviewSchedule returns the next PreviewRuns due times of expr in tz after
// now, and when each would start given the account's windows.
func (s *Service) PreviewSchedule(ctx context.Context, accountID, expr, tz string) (*Preview, error) {
	c, err := ParseSchedule(expr, tz)
	if err != nil {
		return nil, err
	}
	windows, err := s.accountWindows(ctx, s.db.Conn(ctx), []string{accountID})
	if err != nil {
		return nil, err
	}
	p := &Preview{NextRuns: c.NextN(s.now(), PreviewRuns)}
	for _, t := range p.NextRuns {
		p.StartsAt = append(p.StartsAt, calendar.EarliestAllowed(windows[accountID], t))
	}
	return p, nil
}

func validName(errs *apperr.Fields, name string) {
	if utf8.RuneCountInString(name) > maxNameLen {
		errs.Add("name", "must be at most %d characters", maxNameLen)
	}
}

func validNotify(errs *apperr.Fields, n string) {
	if !slices.Contains([]string{NotifyNone, NotifyFailure, NotifyAlways}, n) {
		errs.Add("notify", "must be none, failure or always")
	}
}

func validRetries(errs *apperr.Fields, n int) {
	if n < 0 || n > 10 {
		errs.Add("max_retries", "must be from 0 to 10")
	}
}

func validScript(errs *apperr.Fields, typ, script string) {
	switch {
	case typ == TypeCustomScript && strings.TrimSpace(script) == "":
		errs.Add("script", "is required for a custom_script task")
	case typ != TypeCustomScript && script != "":
		errs.Add("script", "is only for custom_script tasks")
	case len(script) > maxScriptBytes:
		errs.Add("script", "must be at most %d bytes", maxScriptBytes)
	case !utf8.ValidString(script) || strings.ContainsRune(script, 0):
		errs.Add("script", "must be UTF-8 text without NUL characters")
	}
}

// checkSupported refuses a task type the service's provisioner does not
// offer: the request is well-formed, the service cannot do it.
// Errors: Unprocessable (field type, reason not_supported), Unavailable.
func (s *Service) checkSupported(svc *serviceRef, typ string) error {
	caps, err := s.capabilities(svc.Plugin)
	if err != nil {
		return err
	}
	if !slices.Contains(caps, string(capabilityOf[typ])) {
		return &apperr.Error{Code: apperr.Unprocessable, Reason: "not_supported", Message: "this service's provisioner does not support that task type",
			Fields: []apperr.FieldError{{Field: "type", Message: fmt.Sprintf("%s is not supported by this service's provisioner (see the service's task-types)", typ)}}}
	}
	return nil
}

// CreateTask validates and stores a task. Errors: Invalid naming the field
// (cron, time_zone, service_id, …), Unprocessable on type (reason
// not_supported) for a type the service's provisioner lacks, Unavailable
// when the provisioner cannot be asked what it supports.
func (s *Service) CreateTask(ctx context.Context, accountID string, in TaskInput) (*Task, error) {
	var errs apperr.Fields
	in.Name = strings.TrimSpace(in.Name)
	validName(&errs, in.Name)
	if _, ok := capabilityOf[in.Type]; !ok {
		errs.Add("type", "must be reboot, snapshot, backup or custom_script")
	} else {
		validScript(&errs, in.Type, in.Script)
	}
	if in.Notify == "" {
		in.Notify = NotifyFailure
	}
	validNotify(&errs, in.Notify)
	retries := 3
	if in.MaxRetries != nil {
		retries = *in.MaxRetries
	}
	validRetries(&errs, retries)
	if in.ServiceID == "" {
		errs.Add("service_id", "is required")
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	c, perr := ParseSchedule(in.Cron, in.TimeZone)
	if perr != nil {
		if e, ok := apperr.As(perr); ok {
			errs = append(errs, e.Fields...)
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	now := s.now()
	t := &Task{
		ID: newID(), AccountID: accountID, ServiceID: in.ServiceID, Name: in.Name, Type: in.Type, Script: in.Script,
		Cron: c.String(), TimeZone: in.TimeZone, Enabled: enabled, Notify: in.Notify, MaxRetries: retries,
		CreatedAt: now, UpdatedAt: now,
	}
	if enabled {
		next := c.Next(now)
		t.NextRunAt = &next
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		svc, err := s.service(ctx, tx, accountID, in.ServiceID, "service_id")
		if err != nil {
			return err
		}
		if err := s.checkSupported(svc, in.Type); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(t).Exec(ctx); err != nil {
			return fmt.Errorf("scheduler: storing task: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.task.create", AccountID: accountID, TargetType: "task", TargetID: t.ID,
			Changes: map[string]any{"service_id": t.ServiceID, "type": t.Type, "cron": t.Cron, "time_zone": t.TimeZone, "enabled": t.Enabled}})
		return err
	})
	if err != nil {
		return nil, err
	}
	t.NextRuns = c.NextN(now, PreviewRuns)
	return t, nil
}

// Task returns one of the account's tasks with its preview. Errors: NotFound.
func (s *Service) Task(ctx context.Context, accountID, id string) (*Task, error) {
	t, err := s.loadTask(ctx, s.db.Conn(ctx), accountID, id, false)
	if err != nil {
		return nil, err
	}
	s.fillPreview(t)
	return t, nil
}

func (s *Service) fillPreview(t *Task) {
	t.NextRuns = []time.Time{}
	if c, err := s.cron(t.Cron, t.TimeZone); err == nil && t.Enabled {
		t.NextRuns = c.NextN(s.now(), PreviewRuns)
	}
}

func (s *Service) loadTask(ctx context.Context, db bun.IDB, accountID, id string, forUpdate bool) (*Task, error) {
	t := &Task{}
	q := db.NewSelect().Model(t).Where("id = ?", id).Where("account_id = ?", accountID)
	if forUpdate {
		q = database.ForUpdate(q)
	}
	if err := q.Scan(ctx); err != nil {
		if database.IsNoRows(err) {
			return nil, apperr.NotFoundf("no such task")
		}
		return nil, fmt.Errorf("scheduler: loading task %s: %w", id, err)
	}
	return t, nil
}

// Tasks lists the account's tasks (of one service when serviceID is set),
// oldest first, after the cursor id.
func (s *Service) Tasks(ctx context.Context, accountID, serviceID, after string, limit int) ([]*Task, error) {
	return s.TasksAmong(ctx, accountID, serviceID, nil, after, limit)
}

// ServiceSet is a set of service ids a listing keeps (or, Exclude, leaves
// out): a project's services, say.
type ServiceSet struct {
	IDs     []string
	Exclude bool
}

// TasksAmong is Tasks keeping only the tasks of the services among (nil:
// every service).
func (s *Service) TasksAmong(ctx context.Context, accountID, serviceID string, among *ServiceSet, after string, limit int) ([]*Task, error) {
	var ts []*Task
	q := s.db.Conn(ctx).NewSelect().Model(&ts).Where("account_id = ?", accountID).OrderExpr("id ASC").Limit(int64(limit))
	if serviceID != "" {
		q = q.Where("service_id = ?", serviceID)
	}
	if among != nil {
		switch {
		case len(among.IDs) > 0 && among.Exclude:
			q = q.Where("service_id NOT IN (?)", bun.List(among.IDs))
		case len(among.IDs) > 0:
			q = q.Where("service_id IN (?)", bun.List(among.IDs))
		case !among.Exclude:
			return []*Task{}, nil
		}
	}
	if after != "" {
		q = q.Where("id > ?", after)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("scheduler: listing tasks: %w", err)
	}
	for _, t := range ts {
		s.fillPreview(t)
	}
	return ts, nil
}

// UpdateTask changes a task. A new schedule or re-enabling recomputes the
// next run from now. Errors: NotFound, Invalid naming the field.
func (s *Service) UpdateTask(ctx context.Context, accountID, id string, p TaskPatch) (*Task, error) {
	var out *Task
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		t, err := s.loadTask(ctx, tx, accountID, id, true)
		if err != nil {
			return err
		}
		changes := map[string]any{}
		var errs apperr.Fields
		if p.Name != nil {
			t.Name = strings.TrimSpace(*p.Name)
			validName(&errs, t.Name)
			changes["name"] = t.Name
		}
		if p.Script != nil {
			t.Script = *p.Script
			validScript(&errs, t.Type, t.Script)
			changes["script"] = "changed"
		}
		if p.Notify != nil {
			t.Notify = *p.Notify
			validNotify(&errs, t.Notify)
			changes["notify"] = t.Notify
		}
		if p.MaxRetries != nil {
			t.MaxRetries = *p.MaxRetries
			validRetries(&errs, t.MaxRetries)
			changes["max_retries"] = t.MaxRetries
		}
		reschedule := false
		if p.Cron != nil {
			t.Cron, reschedule = strings.TrimSpace(*p.Cron), true
			changes["cron"] = t.Cron
		}
		if p.TimeZone != nil {
			t.TimeZone, reschedule = *p.TimeZone, true
			changes["time_zone"] = t.TimeZone
		}
		if p.Enabled != nil && *p.Enabled != t.Enabled {
			t.Enabled, reschedule = *p.Enabled, true
			changes["enabled"] = t.Enabled
		}
		c, perr := ParseSchedule(t.Cron, t.TimeZone)
		if perr != nil {
			if e, ok := apperr.As(perr); ok {
				errs = append(errs, e.Fields...)
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		if p.Enabled != nil && *p.Enabled {
			// The provisioner may have changed since the task was made.
			svc, err := s.service(ctx, tx, accountID, t.ServiceID, "")
			if err != nil {
				return err
			}
			if err := s.checkSupported(svc, t.Type); err != nil {
				return err
			}
		}
		now := s.now()
		if reschedule {
			t.NextRunAt = nil
			if t.Enabled {
				next := c.Next(now)
				t.NextRunAt = &next
			}
		}
		t.Cron = c.String()
		t.UpdatedAt = now
		if _, err := tx.NewUpdate().Model(t).WherePK().
			Column("name", "script", "cron", "time_zone", "enabled", "notify", "max_retries", "next_run_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("scheduler: updating task %s: %w", id, err)
		}
		if reschedule {
			// Runs made ahead (Options.Lookahead) for due times not yet
			// come belong to the old schedule: the new one decides. Their
			// jobs then find nothing to do.
			if _, err := tx.NewDelete().Model((*Run)(nil)).Where("task_id = ?", id).Where("due_at > ?", now).
				Where("status IN (?)", bun.List([]string{RunQueued, RunWaiting})).Exec(ctx); err != nil {
				return fmt.Errorf("scheduler: dropping the runs of task %s made ahead: %w", id, err)
			}
		}
		out = t
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.task.update", AccountID: accountID, TargetType: "task", TargetID: id, Changes: changes})
		return err
	})
	if err != nil {
		return nil, err
	}
	s.fillPreview(out)
	return out, nil
}

// DeleteTask removes a task and its history. A run already executing
// finishes at the provisioner; its outcome is not recorded. Errors: NotFound.
func (s *Service) DeleteTask(ctx context.Context, accountID, id string) error {
	return s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*Task)(nil)).Where("id = ?", id).Where("account_id = ?", accountID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("scheduler: deleting task %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.NotFoundf("no such task")
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "scheduler.task.delete", AccountID: accountID, TargetType: "task", TargetID: id})
		return err
	})
}

// Runs lists a task's runs, newest first, before the cursor id. Errors:
// NotFound for a task of another account.
func (s *Service) Runs(ctx context.Context, accountID, taskID, before string, limit int) ([]*Run, error) {
	if _, err := s.loadTask(ctx, s.db.Conn(ctx), accountID, taskID, false); err != nil {
		return nil, err
	}
	var rs []*Run
	q := s.db.Conn(ctx).NewSelect().Model(&rs).Where("task_id = ?", taskID).OrderExpr("id DESC").Limit(int64(limit))
	if before != "" {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("scheduler: listing runs of %s: %w", taskID, err)
	}
	return rs, nil
}

// Run returns one run of a task. Errors: NotFound.
func (s *Service) Run(ctx context.Context, accountID, taskID, runID string) (*Run, error) {
	r := &Run{}
	err := s.db.Conn(ctx).NewSelect().Model(r).Where("id = ?", runID).Where("task_id = ?", taskID).Where("account_id = ?", accountID).Scan(ctx)
	if database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such run")
	}
	if err != nil {
		return nil, fmt.Errorf("scheduler: loading run %s: %w", runID, err)
	}
	return r, nil
}
