package scheduler

import (
	"time"

	"github.com/uptrace/bun"
)

// Task types.
const (
	TypeReboot       = "reboot"
	TypeSnapshot     = "snapshot"
	TypeBackup       = "backup"
	TypeCustomScript = "custom_script"
)

// Notify settings of a task: when a run's outcome is notified.
const (
	NotifyNone    = "none"
	NotifyFailure = "failure"
	NotifyAlways  = "always"
)

// Run statuses.
//
//	waiting ─(window opens)─▶ queued ─▶ running ─▶ succeeded | failed | skipped | unknown
//	                                      │  ▲
//	                                      ▼  │ (backoff)
//	                                    retrying
//
// unknown: the provisioner call was interrupted and the backend cannot
// tell whether it acted (core/intent); the run is not repeated.
const (
	RunWaiting   = "waiting"
	RunQueued    = "queued"
	RunRunning   = "running"
	RunRetrying  = "retrying"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunSkipped   = "skipped"
	RunUnknown   = "unknown"
)

// Task is an automated task on one of an account's services.
type Task struct {
	bun.BaseModel `bun:"table:scheduled_tasks"`

	ID         string     `bun:"id,pk" json:"id"`
	AccountID  string     `bun:"account_id" json:"account_id"`
	ServiceID  string     `bun:"service_id" json:"service_id"`
	Name       string     `bun:"name" json:"name"`
	Type       string     `bun:"type" json:"type"`
	Script     string     `bun:"script" json:"script"`
	Cron       string     `bun:"cron" json:"cron"`
	TimeZone   string     `bun:"time_zone" json:"time_zone"`
	Enabled    bool       `bun:"enabled" json:"enabled"`
	Notify     string     `bun:"notify" json:"notify"`
	MaxRetries int        `bun:"max_retries" json:"max_retries"`
	NextRunAt  *time.Time `bun:"next_run_at" json:"next_run_at"`
	CreatedAt  time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at" json:"updated_at"`

	// NextRuns previews the next five due times (not stored).
	NextRuns []time.Time `bun:"-" json:"next_runs"`
}

// Run is one execution of a task.
type Run struct {
	bun.BaseModel `bun:"table:task_runs"`

	ID          string     `bun:"id,pk" json:"id"`
	TaskID      string     `bun:"task_id" json:"task_id"`
	AccountID   string     `bun:"account_id" json:"-"`
	ServiceID   string     `bun:"service_id" json:"service_id"`
	Type        string     `bun:"type" json:"type"`
	Status      string     `bun:"status" json:"status"`
	DueAt       time.Time  `bun:"due_at" json:"due_at"`
	RunAfter    time.Time  `bun:"run_after" json:"run_after"`
	Attempt     int        `bun:"attempt" json:"attempt"`
	MaxAttempts int        `bun:"max_attempts" json:"max_attempts"`
	StartedAt   *time.Time `bun:"started_at" json:"started_at"`
	CompletedAt *time.Time `bun:"completed_at" json:"completed_at"`
	Output      string     `bun:"output" json:"output"`
	Error       string     `bun:"error" json:"error"`
	CreatedAt   time.Time  `bun:"created_at" json:"created_at"`
}

// Terminal reports whether the run has its final outcome.
func (r *Run) Terminal() bool {
	return final(r.Status)
}

// final reports whether a run status is a final outcome.
func final(status string) bool {
	return status == RunSucceeded || status == RunFailed || status == RunSkipped || status == RunUnknown
}

// Window is a stored maintenance window.
type Window struct {
	bun.BaseModel `bun:"table:maintenance_windows"`

	ID              string    `bun:"id,pk" json:"id"`
	AccountID       string    `bun:"account_id" json:"account_id"`
	Name            string    `bun:"name" json:"name"`
	Days            string    `bun:"days" json:"-"`
	StartTime       string    `bun:"start_time" json:"start"`
	DurationMinutes int       `bun:"duration_minutes" json:"duration_minutes"`
	TimeZone        string    `bun:"time_zone" json:"time_zone"`
	CreatedAt       time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt       time.Time `bun:"updated_at" json:"updated_at"`

	// DayList is Days as the API shows it.
	DayList []string `bun:"-" json:"days"`
}
