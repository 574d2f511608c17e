package client

import "time"

// Account is an account the token reaches.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// Me is GET /me.
type Me struct {
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
	Accounts []Account `json:"accounts"`
	Token    struct {
		Kind   string   `json:"kind"`
		Scopes []string `json:"scopes"`
	} `json:"token"`
}

// CyclePrice is a plan's price for one cycle.
type CyclePrice struct {
	Cycle    string `json:"cycle"`
	Price    int64  `json:"price"`
	Saving   int64  `json:"saving"`
	SavingBP int64  `json:"saving_bp"`
}

// Plan is a catalog plan.
type Plan struct {
	ID           string              `json:"id"`
	Slug         string              `json:"slug"`
	Name         string              `json:"name"`
	Description  string              `json:"description"`
	ServiceType  string              `json:"service_type"`
	Tier         string              `json:"tier"`
	Specs        map[string]any      `json:"specs"`
	Currency     string              `json:"currency"`
	MonthlyPrice int64               `json:"monthly_price"`
	Prices       []CyclePrice        `json:"prices"`
	FreeTier     bool                `json:"free_tier"`
	OrderOptions map[string][]string `json:"order_options"`
}

// Project groups services.
type Project struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Colour      string `json:"colour"`
	Icon        string `json:"icon"`
	Archived    bool   `json:"archived"`
}

// PendingChange is a plan or cycle change due at the end of the term.
type PendingChange struct {
	PlanID string `json:"plan_id"`
	Cycle  string `json:"cycle"`
	Price  int64  `json:"price"`
}

// Service is a service of a plan.
type Service struct {
	ID                string            `json:"id"`
	AccountID         string            `json:"account_id"`
	PlanID            string            `json:"plan_id"`
	Cycle             string            `json:"cycle"`
	Currency          string            `json:"currency"`
	Price             int64             `json:"price"`
	Status            string            `json:"status"`
	Suspensions       []string          `json:"suspensions"`
	Label             string            `json:"label"`
	Options           map[string]string `json:"options"`
	PeriodEnd         *time.Time        `json:"period_end"`
	PendingChange     *PendingChange    `json:"pending_change"`
	CancelAtPeriodEnd bool              `json:"cancel_at_period_end"`
	ExternalID        string            `json:"external_id"`
	BackendState      string            `json:"backend_state"`
	ProvisionAttempts int               `json:"provision_attempts"`
	LastError         string            `json:"last_error"`
	CreatedAt         time.Time         `json:"created_at"`
}

// Live reports whether the service has not ended.
func (s *Service) Live() bool {
	switch s.Status {
	case "terminated", "cancelled", "failed":
		return false
	}
	return true
}

// Order is the answer to orderService.
type Order struct {
	Service Service `json:"service"`
	Invoice struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Total  int64  `json:"total"`
	} `json:"invoice"`
}

// Dependency records that one service depends on another.
type Dependency struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id"`
	DependsOnID string `json:"depends_on_id"`
	Type        string `json:"type"`
	Critical    bool   `json:"critical"`
	Note        string `json:"note"`
}

// Task is a scheduled (automated) task of a service.
type Task struct {
	ID         string     `json:"id"`
	ServiceID  string     `json:"service_id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Script     string     `json:"script"`
	Cron       string     `json:"cron"`
	TimeZone   string     `json:"time_zone"`
	Enabled    bool       `json:"enabled"`
	Notify     string     `json:"notify"`
	MaxRetries int64      `json:"max_retries"`
	NextRunAt  *time.Time `json:"next_run_at"`
}

// MaintenanceWindow is an account's weekly maintenance window.
type MaintenanceWindow struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	Days            []string `json:"days"`
	Start           string   `json:"start"`
	DurationMinutes int64    `json:"duration_minutes"`
	TimeZone        string   `json:"time_zone"`
}

// Recovery is a service's auto-recovery configuration.
type Recovery struct {
	ServiceID          string `json:"service_id"`
	Enabled            bool   `json:"enabled"`
	CheckType          string `json:"check_type"`
	Target             string `json:"target"`
	Port               int64  `json:"port"`
	MaxAttemptsPerHour int64  `json:"max_attempts_per_hour"`
	Notify             bool   `json:"notify"`
	State              string `json:"state"`
}

// Budget is an account's monthly budget.
type Budget struct {
	AccountID    string  `json:"account_id"`
	Currency     string  `json:"currency"`
	MonthlyLimit int64   `json:"monthly_limit"`
	Thresholds   []int64 `json:"thresholds"`
	HardStop     bool    `json:"hard_stop"`
	ResetDay     int64   `json:"reset_day"`
	AlertRule    string  `json:"alert_rule"`
	StopRule     string  `json:"stop_rule"`
}

// List is a page of a list.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}
