package kasmapi

// User is a Kasm user.
type User struct {
	UserID       string  `json:"user_id"`
	Username     string  `json:"username"`
	FirstName    string  `json:"first_name"`
	LastName     string  `json:"last_name"`
	Phone        string  `json:"phone"`
	Organization string  `json:"organization"`
	Realm        string  `json:"realm"`
	Locked       bool    `json:"locked"`
	Disabled     bool    `json:"disabled"`
	LastSession  *string `json:"last_session"`
	Notes        *string `json:"notes"`
	Groups       []Group `json:"groups"`
}

// Group is a user group.
type Group struct {
	Name    string `json:"name"`
	GroupID string `json:"group_id"`
}

// NewUser is the target_user of create_user.
type NewUser struct {
	Username     string `json:"username"`
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	Locked       bool   `json:"locked"`
	Disabled     bool   `json:"disabled"`
	Organization string `json:"organization,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Password     string `json:"password,omitempty"`
}

// Image is a workspace image.
type Image struct {
	ImageID      string  `json:"image_id"`
	Name         string  `json:"name"`
	FriendlyName string  `json:"friendly_name"`
	Description  string  `json:"description"`
	Memory       int64   `json:"memory"` // bytes
	Cores        float64 `json:"cores"`
	Enabled      bool    `json:"enabled"`
	Available    bool    `json:"available"`
	ImageSrc     string  `json:"image_src"`
}

// ImageRef is the short image object embedded in a session.
type ImageRef struct {
	ImageID      string `json:"image_id"`
	Name         string `json:"name"`
	ImageSrc     string `json:"image_src"`
	FriendlyName string `json:"friendly_name"`
}

// Operational statuses of a session.
const (
	StatusRequested    = "requested"
	StatusProvisioning = "provisioning"
	StatusStarting     = "starting"
	StatusRunning      = "running"
	StatusStopped      = "stopped"
)

// IsPending reports a session that is still coming up: wait and poll, it
// has not failed.
func IsPending(status string) bool {
	return status == StatusRequested || status == StatusProvisioning || status == StatusStarting
}

// Kasm is a session (get_kasms, get_kasm_status).
type Kasm struct {
	KasmID              string         `json:"kasm_id"`
	UserID              string         `json:"user_id"`
	Username            string         `json:"username"`
	ImageID             string         `json:"image_id"`
	Image               ImageRef       `json:"image"`
	OperationalStatus   string         `json:"operational_status"`
	ContainerIP         string         `json:"container_ip"`
	ContainerID         string         `json:"container_id"`
	Host                string         `json:"host"`
	Port                int            `json:"port"`
	Hostname            string         `json:"hostname"`
	ServerID            string         `json:"server_id"`
	ShareID             *string        `json:"share_id"`
	ViewOnlyToken       string         `json:"view_only_token"`
	StartDate           string         `json:"start_date"`
	ExpirationDate      string         `json:"expiration_date"`
	KeepaliveDate       string         `json:"keepalive_date"`
	Cores               float64        `json:"cores"`
	Memory              int64          `json:"memory"` // bytes
	IsPersistentProfile bool           `json:"is_persistent_profile"`
	PortMap             map[string]any `json:"port_map"`
	ClientSettings      map[string]any `json:"client_settings"`
}

// RequestKasm is the body of request_kasm (besides the credentials). ImageID
// is required in practice: image_name is ignored by Kasm, which then answers
// "No Default Image Found".
type RequestKasm struct {
	UserID         string            `json:"user_id"`
	ImageID        string            `json:"image_id,omitempty"`
	EnableSharing  bool              `json:"enable_sharing,omitempty"`
	Environment    map[string]string `json:"environment,omitempty"`
	GroupID        string            `json:"group_id,omitempty"`
	ClientSettings map[string]any    `json:"client_settings,omitempty"`
}

// NewKasm is the answer of request_kasm. KasmURL is a path; the user-facing
// URL is the Kasm host followed by it.
type NewKasm struct {
	KasmID       string  `json:"kasm_id"`
	Status       string  `json:"status"`
	UserID       string  `json:"user_id"`
	Username     string  `json:"username"`
	SessionToken string  `json:"session_token"`
	KasmURL      string  `json:"kasm_url"`
	ShareID      *string `json:"share_id"`
}

// KasmStatus is the answer of get_kasm_status: Kasm is set once the session
// runs; while it comes up only the Operational* fields are, beside an
// ErrorMessage ("This session is currently starting.") that is not a
// failure.
type KasmStatus struct {
	CurrentTime         string `json:"current_time"`
	KasmURL             string `json:"kasm_url"`
	Kasm                *Kasm  `json:"kasm"`
	OperationalStatus   string `json:"operational_status"`
	OperationalMessage  string `json:"operational_message"`
	OperationalProgress int    `json:"operational_progress"`
	ErrorMessage        string `json:"error_message,omitempty"`
}

// Status returns the session's operational status whichever shape the
// answer had.
func (s *KasmStatus) Status() string {
	if s.Kasm != nil {
		return s.Kasm.OperationalStatus
	}
	return s.OperationalStatus
}
