package projects

import (
	"time"

	"github.com/ezscale/platform/core/services"

	"github.com/uptrace/bun"
)

// Project is a named group of an account's services.
type Project struct {
	bun.BaseModel `bun:"table:projects"`

	ID          string `bun:"id,pk" json:"id"`
	AccountID   string `bun:"account_id" json:"account_id"`
	Name        string `bun:"name" json:"name"`
	NameKey     string `bun:"name_key" json:"-"`
	Description string `bun:"description" json:"description"`
	Colour      string `bun:"colour" json:"colour"`
	Icon        string `bun:"icon" json:"icon"`
	// ArchivedAt is set while the project is archived.
	ArchivedAt *time.Time `bun:"archived_at" json:"archived_at"`
	CreatedAt  time.Time  `bun:"created_at" json:"created_at"`
	UpdatedAt  time.Time  `bun:"updated_at" json:"updated_at"`
}

// Archived reports whether the project is archived.
func (p *Project) Archived() bool { return p.ArchivedAt != nil }

// assignment puts a service in a project.
type assignment struct {
	bun.BaseModel `bun:"table:project_services"`

	ServiceID  string    `bun:"service_id,pk"`
	ProjectID  string    `bun:"project_id"`
	AccountID  string    `bun:"account_id"`
	AssignedAt time.Time `bun:"assigned_at"`
}

// Dependency types.
const (
	TypeDatabase = "database"
	TypeStorage  = "storage"
	TypeNetwork  = "network"
	TypeAPI      = "api"
	TypeOther    = "other"
)

// Types are the dependency types, in the order documents list them.
var Types = []string{TypeDatabase, TypeStorage, TypeNetwork, TypeAPI, TypeOther}

// Dependency records that ServiceID depends on DependsOnID.
type Dependency struct {
	bun.BaseModel `bun:"table:service_dependencies"`

	ID          string    `bun:"id,pk" json:"id"`
	AccountID   string    `bun:"account_id" json:"account_id"`
	ServiceID   string    `bun:"service_id" json:"service_id"`
	DependsOnID string    `bun:"depends_on_id" json:"depends_on_id"`
	Type        string    `bun:"type" json:"type"`
	Critical    bool      `bun:"critical" json:"critical"`
	Note        string    `bun:"note" json:"note"`
	CreatedAt   time.Time `bun:"created_at" json:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at" json:"updated_at"`
}

// ServiceInfo is what this package reads of a billing service.
type ServiceInfo struct {
	ID        string
	AccountID string
	Label     string
	Status    string
	PlanID    string
	PlanName  string
}

// Live reports whether the service has not ended (services.IsLive).
func (s ServiceInfo) Live() bool {
	return services.IsLive(s.Status)
}

// name is how messages name the service: its label, else its id.
func (s ServiceInfo) name() string {
	if s.Label != "" {
		return s.Label
	}
	return s.ID
}
