package pterodactylapi

// Item is Pterodactyl's single-object envelope.
type Item[T any] struct {
	Object     string `json:"object"`
	Attributes T      `json:"attributes"`
}

// List is Pterodactyl's list envelope with its pagination.
type List[T any] struct {
	Object string    `json:"object"`
	Data   []Item[T] `json:"data"`
	Meta   struct {
		Pagination Pagination `json:"pagination"`
	} `json:"meta"`
}

// Items returns the unwrapped attributes of a list.
func (l *List[T]) Items() []T {
	out := make([]T, len(l.Data))
	for i, it := range l.Data {
		out[i] = it.Attributes
	}
	return out
}

// Pagination is a list's meta.pagination.
type Pagination struct {
	Total       int `json:"total"`
	Count       int `json:"count"`
	PerPage     int `json:"per_page"`
	CurrentPage int `json:"current_page"`
	TotalPages  int `json:"total_pages"`
	Links       struct {
		Previous string `json:"previous,omitempty"`
		Next     string `json:"next,omitempty"`
	} `json:"links"`
}

// User is a panel user (ApplicationUserTransformer).
type User struct {
	ID         int64   `json:"id"`
	ExternalID *string `json:"external_id"`
	UUID       string  `json:"uuid"`
	Username   string  `json:"username"`
	Email      string  `json:"email"`
	FirstName  string  `json:"first_name"`
	LastName   string  `json:"last_name"`
	Language   string  `json:"language"`
	RootAdmin  bool    `json:"root_admin"`
	TwoFA      bool    `json:"2fa"`
	CreatedAt  string  `json:"created_at"`
	UpdatedAt  string  `json:"updated_at"`
}

// UserRequest is the body of POST /users and PATCH /users/{id}; email,
// username, first_name and last_name are required on both.
type UserRequest struct {
	Email      string `json:"email"`
	Username   string `json:"username"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	ExternalID string `json:"external_id,omitempty"`
	Password   string `json:"password,omitempty"`
	Language   string `json:"language,omitempty"`
	RootAdmin  bool   `json:"root_admin,omitempty"`
}

// Limits are a server's resource limits. Memory, Swap and Disk are MB, CPU is
// percent of one core, IO is a 10–1000 weight.
type Limits struct {
	Memory      int64   `json:"memory"`
	Swap        int64   `json:"swap"`
	Disk        int64   `json:"disk"`
	IO          int64   `json:"io"`
	CPU         int64   `json:"cpu"`
	Threads     *string `json:"threads"`
	OOMDisabled *bool   `json:"oom_disabled,omitempty"`
}

// FeatureLimits cap databases, allocations and backups. Databases and
// Backups must be present on create (null allowed).
type FeatureLimits struct {
	Databases   *int64 `json:"databases"`
	Allocations *int64 `json:"allocations"`
	Backups     *int64 `json:"backups"`
}

// Server statuses; a normal server has a null status.
const (
	StatusInstalling      = "installing"
	StatusInstallFailed   = "install_failed"
	StatusReinstallFailed = "reinstall_failed"
	StatusSuspended       = "suspended"
	StatusRestoringBackup = "restoring_backup"
)

// Server is an application server object (ApplicationServerTransformer).
type Server struct {
	ID            int64         `json:"id"`
	ExternalID    *string       `json:"external_id"`
	UUID          string        `json:"uuid"`
	Identifier    string        `json:"identifier"`
	Name          string        `json:"name"`
	Description   string        `json:"description"`
	Status        *string       `json:"status"`
	Suspended     bool          `json:"suspended"`
	Limits        Limits        `json:"limits"`
	FeatureLimits FeatureLimits `json:"feature_limits"`
	User          int64         `json:"user"`
	Node          int64         `json:"node"`
	Allocation    int64         `json:"allocation"`
	Nest          int64         `json:"nest"`
	Egg           int64         `json:"egg"`
	Container     struct {
		StartupCommand string         `json:"startup_command"`
		Image          string         `json:"image"`
		Installed      int            `json:"installed"`
		Environment    map[string]any `json:"environment"`
	} `json:"container"`
	UpdatedAt     string `json:"updated_at"`
	CreatedAt     string `json:"created_at"`
	Relationships *struct {
		Allocations *List[Allocation] `json:"allocations,omitempty"`
	} `json:"relationships,omitempty"`
}

// StatusString returns the status, "" for a normal server.
func (s *Server) StatusString() string {
	if s.Status == nil {
		return ""
	}
	return *s.Status
}

// Allocation is an IP:port on a node.
type Allocation struct {
	ID       int64   `json:"id"`
	IP       string  `json:"ip"`
	Alias    *string `json:"alias"`
	Port     int     `json:"port"`
	Notes    *string `json:"notes"`
	Assigned bool    `json:"assigned"`
}

// AllocationRequest places a server on given allocations.
type AllocationRequest struct {
	Default    int64   `json:"default"`
	Additional []int64 `json:"additional,omitempty"`
}

// DeployRequest lets the panel pick a node and allocation.
type DeployRequest struct {
	Locations   []int64 `json:"locations"`
	DedicatedIP bool    `json:"dedicated_ip"`
	// PortRange is left out when empty: the panel's rule is "array", not
	// nullable, so "port_range": null is a 422.
	PortRange []string `json:"port_range,omitempty"`
}

// CreateServerRequest is the body of POST /servers. Give Allocation or
// Deploy, not both. Environment must hold the egg's required variables.
type CreateServerRequest struct {
	Name              string             `json:"name"`
	User              int64              `json:"user"`
	Egg               int64              `json:"egg"`
	ExternalID        string             `json:"external_id,omitempty"`
	Description       string             `json:"description,omitempty"`
	DockerImage       string             `json:"docker_image"`
	Startup           string             `json:"startup"`
	Environment       map[string]string  `json:"environment"`
	Limits            Limits             `json:"limits"`
	FeatureLimits     FeatureLimits      `json:"feature_limits"`
	Allocation        *AllocationRequest `json:"allocation,omitempty"`
	Deploy            *DeployRequest     `json:"deploy,omitempty"`
	SkipScripts       bool               `json:"skip_scripts"`
	OOMDisabled       bool               `json:"oom_disabled"`
	StartOnCompletion bool               `json:"start_on_completion"`
}

// BuildRequest is the body of PATCH /servers/{id}/build; FeatureLimits is
// required by the panel.
type BuildRequest struct {
	Allocation        int64         `json:"allocation"`
	Limits            Limits        `json:"limits"`
	FeatureLimits     FeatureLimits `json:"feature_limits"`
	AddAllocations    []int64       `json:"add_allocations,omitempty"`
	RemoveAllocations []int64       `json:"remove_allocations,omitempty"`
	OOMDisabled       *bool         `json:"oom_disabled,omitempty"`
}

// DetailsRequest is the body of PATCH /servers/{id}/details.
type DetailsRequest struct {
	Name        string `json:"name"`
	User        int64  `json:"user"`
	ExternalID  string `json:"external_id,omitempty"`
	Description string `json:"description,omitempty"`
}

// Node is a Wings node (NodeTransformer).
type Node struct {
	ID                 int64  `json:"id"`
	UUID               string `json:"uuid"`
	Public             bool   `json:"public"`
	Name               string `json:"name"`
	Description        string `json:"description"`
	LocationID         int64  `json:"location_id"`
	FQDN               string `json:"fqdn"`
	Scheme             string `json:"scheme"`
	BehindProxy        bool   `json:"behind_proxy"`
	MaintenanceMode    bool   `json:"maintenance_mode"`
	Memory             int64  `json:"memory"`
	MemoryOverallocate int64  `json:"memory_overallocate"`
	Disk               int64  `json:"disk"`
	DiskOverallocate   int64  `json:"disk_overallocate"`
	UploadSize         int64  `json:"upload_size"`
	DaemonListen       int    `json:"daemon_listen"`
	DaemonSFTP         int    `json:"daemon_sftp"`
	DaemonBase         string `json:"daemon_base"`
	CreatedAt          string `json:"created_at"`
	UpdatedAt          string `json:"updated_at"`
	AllocatedResources struct {
		Memory int64 `json:"memory"`
		Disk   int64 `json:"disk"`
	} `json:"allocated_resources"`
}

// Nest groups eggs.
type Nest struct {
	ID          int64  `json:"id"`
	UUID        string `json:"uuid"`
	Author      string `json:"author"`
	Name        string `json:"name"`
	Description string `json:"description"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// Egg is a server template.
type Egg struct {
	ID            int64             `json:"id"`
	UUID          string            `json:"uuid"`
	Name          string            `json:"name"`
	Nest          int64             `json:"nest"`
	Author        string            `json:"author"`
	Description   string            `json:"description"`
	DockerImage   string            `json:"docker_image"`
	DockerImages  map[string]string `json:"docker_images"`
	Startup       string            `json:"startup"`
	CreatedAt     string            `json:"created_at"`
	UpdatedAt     string            `json:"updated_at"`
	Relationships *struct {
		Variables *List[EggVariable] `json:"variables,omitempty"`
	} `json:"relationships,omitempty"`
}

// EggVariable is an environment variable an egg declares.
type EggVariable struct {
	ID           int64  `json:"id"`
	EggID        int64  `json:"egg_id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	EnvVariable  string `json:"env_variable"`
	DefaultValue string `json:"default_value"`
	UserViewable bool   `json:"user_viewable"`
	UserEditable bool   `json:"user_editable"`
	Rules        string `json:"rules"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

// ClientServer is the Client API's view of a server.
type ClientServer struct {
	ServerOwner bool   `json:"server_owner"`
	Identifier  string `json:"identifier"`
	InternalID  int64  `json:"internal_id"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Node        string `json:"node"`
	SFTPDetails struct {
		IP   string `json:"ip"`
		Port int    `json:"port"`
	} `json:"sftp_details"`
	Description    string        `json:"description"`
	Limits         Limits        `json:"limits"`
	Invocation     string        `json:"invocation"`
	DockerImage    string        `json:"docker_image"`
	FeatureLimits  FeatureLimits `json:"feature_limits"`
	Status         *string       `json:"status"`
	IsSuspended    bool          `json:"is_suspended"`
	IsInstalling   bool          `json:"is_installing"`
	IsTransferring bool          `json:"is_transferring"`
}

// Backup is a server backup (Client API BackupTransformer). CompletedAt is
// nil while the backup runs; a finished one is successful or failed.
type Backup struct {
	UUID         string   `json:"uuid"`
	IsSuccessful bool     `json:"is_successful"`
	IsLocked     bool     `json:"is_locked"`
	Name         string   `json:"name"`
	IgnoredFiles []string `json:"ignored_files"`
	// Checksum is "sha1:…" once done (renamed from sha256_hash before v1.0).
	Checksum    *string `json:"checksum"`
	Bytes       int64   `json:"bytes"`
	CreatedAt   string  `json:"created_at"`
	CompletedAt *string `json:"completed_at"`
}

// Counts reports whether the backup counts against the server's backup
// limit, as the panel counts them: running ones and successful ones.
func (b *Backup) Counts() bool { return b.CompletedAt == nil || b.IsSuccessful }

// BackupRequest is the body of POST /api/client/servers/{server}/backups.
// An empty name makes the panel name it "Backup at <time>"; Ignored lists
// paths to leave out, one per line.
type BackupRequest struct {
	Name     string `json:"name,omitempty"`
	Ignored  string `json:"ignored,omitempty"`
	IsLocked bool   `json:"is_locked"`
}

// Power signals.
type Signal string

// Power signals accepted by POST /api/client/servers/{id}/power.
const (
	SignalStart   Signal = "start"
	SignalStop    Signal = "stop"
	SignalRestart Signal = "restart"
	SignalKill    Signal = "kill"
)

// Power states reported by the resources endpoint.
const (
	StateOffline  = "offline"
	StateStarting = "starting"
	StateRunning  = "running"
	StateStopping = "stopping"
)

// Stats is a server's live resource usage.
type Stats struct {
	CurrentState string `json:"current_state"`
	IsSuspended  bool   `json:"is_suspended"`
	Resources    struct {
		MemoryBytes    int64   `json:"memory_bytes"`
		CPUAbsolute    float64 `json:"cpu_absolute"`
		DiskBytes      int64   `json:"disk_bytes"`
		NetworkRxBytes int64   `json:"network_rx_bytes"`
		NetworkTxBytes int64   `json:"network_tx_bytes"`
		Uptime         int64   `json:"uptime"`
	} `json:"resources"`
}

// ErrorBody is Pterodactyl's error envelope.
type ErrorBody struct {
	Errors []ErrorItem `json:"errors"`
}

// ErrorItem is one error; Status is a string.
type ErrorItem struct {
	Code   string `json:"code"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Meta   *struct {
		SourceField string `json:"source_field"`
		Rule        string `json:"rule"`
	} `json:"meta,omitempty"`
}
