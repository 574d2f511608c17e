package virtfusionapi

// User is a VirtFusion user. ExtRelationID is the id this platform gave the
// user (null for users created in the panel itself).
type User struct {
	ID                               int64   `json:"id"`
	Admin                            bool    `json:"admin"`
	ExtRelationID                    *int64  `json:"extRelationId"`
	SelfService                      int     `json:"selfService"`
	SelfServiceHourlyGroupProfiles   []int64 `json:"selfServiceHourlyGroupProfiles"`
	SelfServiceResourceGroupProfiles []int64 `json:"selfServiceResourceGroupProfiles"`
	SelfServiceHourlyResourcePack    *int64  `json:"selfServiceHourlyResourcePack"`
	Name                             string  `json:"name"`
	Email                            string  `json:"email"`
	Timezone                         string  `json:"timezone"`
	Suspended                        bool    `json:"suspended"`
	TwoFactorAuth                    bool    `json:"twoFactorAuth"`
	Created                          string  `json:"created,omitempty"`
	Updated                          string  `json:"updated,omitempty"`
	// Password is only returned when the user is created.
	Password string `json:"password,omitempty"`
}

// CreateUserRequest is the body of POST /users.
type CreateUserRequest struct {
	Name          string `json:"name"`
	Email         string `json:"email"`
	ExtRelationID int64  `json:"extRelationId"`
	// SelfService: 0 off, 1 hourly, 2 resource packs, 3 both.
	SelfService int  `json:"selfService"`
	SendMail    bool `json:"sendMail"`
}

// UserPasswordReset is the answer to a user password reset. The reference
// gives only the status (201); email and password are what the panel shows
// the operator after a reset [inferred].
type UserPasswordReset struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// AuthenticationTokens are single-use SSO tokens that log a user into the
// panel on one server's page.
type AuthenticationTokens struct {
	Tokens map[string]string `json:"tokens"`
	// Endpoint is the panel path the tokens are posted to.
	Endpoint string `json:"endpoint"`
	// EndpointComplete is the login path with the tokens in its query
	// (/authenticate/server/<uuid>?token1=…&token2=…), relative to the
	// panel's origin: Client.PanelURL makes it a link.
	EndpointComplete string `json:"endpoint_complete"`
	Expiry           struct {
		TTL     int    `json:"ttl"`
		Expires string `json:"expires"`
	} `json:"expiry"`
}

// Package is a server package (plan).
type Package struct {
	ID                     int64   `json:"id"`
	Name                   string  `json:"name"`
	Description            *string `json:"description"`
	Enabled                bool    `json:"enabled"`
	Memory                 int64   `json:"memory"`
	PrimaryStorage         int64   `json:"primaryStorage"`
	Traffic                int64   `json:"traffic"`
	CPUCores               int64   `json:"cpuCores"`
	PrimaryNetworkSpeedIn  int64   `json:"primaryNetworkSpeedIn"`
	PrimaryNetworkSpeedOut int64   `json:"primaryNetworkSpeedOut"`
	PrimaryDiskType        string  `json:"primaryDiskType"`
	BackupPlanID           int64   `json:"backupPlanId"`
	PrimaryStorageProfile  int64   `json:"primaryStorageProfile"`
	PrimaryNetworkProfile  int64   `json:"primaryNetworkProfile"`
	Created                string  `json:"created"`
}

// HypervisorGroup is a group of hypervisors that servers are placed in.
type HypervisorGroup struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	Label            *string `json:"label"`
	Description      *string `json:"description"`
	DistributionType int     `json:"distributionType"`
	Enabled          bool    `json:"enabled"`
	Default          bool    `json:"default"`
	Created          string  `json:"created"`
	Updated          string  `json:"updated"`
}

// Hypervisor is one compute node.
type Hypervisor struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	IP          string `json:"ip"`
	GroupID     int64  `json:"groupId"`
	Enabled     bool   `json:"enabled"`
	Maintenance bool   `json:"maintenance"`
	MaxServers  int64  `json:"maxServers"`
	MaxCPU      int64  `json:"maxCpu"`
	MaxMemory   int64  `json:"maxMemory"`
}

// GroupResources is the answer of GET /compute/hypervisors/groups/{id}/resources.
// The reference names the endpoint but not its body; this shape (per
// hypervisor, max/allocated/free per resource) is [inferred] and is what the
// fake serves.
type GroupResources struct {
	ID          int64                 `json:"id"`
	Name        string                `json:"name"`
	Hypervisors []HypervisorResources `json:"hypervisors"`
}

// HypervisorResources is one hypervisor's capacity.
type HypervisorResources struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	Enabled     bool     `json:"enabled"`
	Maintenance bool     `json:"maintenance"`
	Servers     Resource `json:"servers"`
	Memory      Resource `json:"memory"`   // MB
	CPUCores    Resource `json:"cpuCores"` // cores
	Storage     Resource `json:"storage"`  // GB
}

// Resource is a capacity figure; Max 0 means unlimited.
type Resource struct {
	Max       int64 `json:"max"`
	Allocated int64 `json:"allocated"`
	Free      int64 `json:"free"`
}

// CreateServerRequest is the body of POST /servers. HypervisorID is a
// hypervisor *group* id and UserID the VirtFusion user id (not the
// extRelationId).
type CreateServerRequest struct {
	PackageID            int64 `json:"packageId"`
	UserID               int64 `json:"userId"`
	HypervisorID         int64 `json:"hypervisorId"`
	IPv4                 int   `json:"ipv4,omitempty"`
	Storage              int64 `json:"storage,omitempty"`
	Traffic              int64 `json:"traffic,omitempty"`
	Memory               int64 `json:"memory,omitempty"`
	CPUCores             int64 `json:"cpuCores,omitempty"`
	NetworkSpeedInbound  int64 `json:"networkSpeedInbound,omitempty"`
	NetworkSpeedOutbound int64 `json:"networkSpeedOutbound,omitempty"`
}

// BuildRequest is the body of POST /servers/{id}/build.
type BuildRequest struct {
	OperatingSystemID int64   `json:"operatingSystemId"`
	Name              string  `json:"name,omitempty"`
	Hostname          string  `json:"hostname,omitempty"`
	SSHKeys           []int64 `json:"sshKeys,omitempty"`
	VNC               bool    `json:"vnc"`
	IPv6              bool    `json:"ipv6"`
	Swap              int     `json:"swap,omitempty"`
	Email             bool    `json:"email"`
}

// Server states as observed: allocated until built, queued once a build is
// queued.
const (
	StateAllocated = "allocated"
	StateQueued    = "queued"
)

// Server is the full server object.
type Server struct {
	ID               int64          `json:"id"`
	OwnerID          int64          `json:"ownerId"`
	HypervisorID     int64          `json:"hypervisorId"`
	Arch             int            `json:"arch"`
	Name             string         `json:"name"`
	SelfService      int            `json:"selfService"`
	Hostname         *string        `json:"hostname"`
	CommissionStatus int            `json:"commissionStatus"`
	UUID             string         `json:"uuid"`
	State            string         `json:"state"`
	Suspended        bool           `json:"suspended"`
	Protected        bool           `json:"protected"`
	BuildFailed      bool           `json:"buildFailed"`
	Built            *string        `json:"built"`
	Created          string         `json:"created"`
	Updated          string         `json:"updated"`
	Traffic          ServerTraffic  `json:"traffic"`
	Settings         ServerSettings `json:"settings"`
	CPU              struct {
		Cores    int64  `json:"cores"`
		Type     string `json:"type"`
		Throttle int    `json:"throttle"`
	} `json:"cpu"`
	VNC struct {
		IP      string `json:"ip"`
		Port    int    `json:"port"`
		Enabled bool   `json:"enabled"`
	} `json:"vnc"`
	Network    ServerNetwork    `json:"network"`
	Storage    []ServerStorage  `json:"storage"`
	Hypervisor ServerHypervisor `json:"hypervisor"`
	Owner      User             `json:"owner"`
	SSHKeys    []int64          `json:"sshKeys"`
	Tasks      struct {
		Active bool    `json:"active"`
		LastOn *string `json:"lastOn"`
	} `json:"tasks"`
	// RemoteState is only present with ?remoteState=true.
	RemoteState *RemoteState `json:"remoteState,omitempty"`
}

// ServerTraffic is the server's traffic period.
type ServerTraffic struct {
	Public struct {
		CountMethod   int `json:"countMethod"`
		CurrentPeriod struct {
			Start string `json:"start"`
			End   string `json:"end"`
			Limit int64  `json:"limit"`
		} `json:"currentPeriod"`
	} `json:"public"`
}

// ServerSettings holds the server's install settings and resources.
type ServerSettings struct {
	OSTemplateInstall   bool   `json:"osTemplateInstall"`
	OSTemplateInstallID int64  `json:"osTemplateInstallId"`
	BackupPlan          *int64 `json:"backupPlan"`
	Resources           struct {
		Memory   int64 `json:"memory"`
		Storage  int64 `json:"storage"`
		Traffic  int64 `json:"traffic"`
		CPUCores int64 `json:"cpuCores"`
	} `json:"resources"`
	// DecryptedPassword is the root password, present after a build.
	DecryptedPassword string `json:"decryptedPassword,omitempty"`
}

// ServerNetwork lists the server's interfaces.
type ServerNetwork struct {
	Interfaces []NetworkInterface `json:"interfaces"`
}

// NetworkInterface is one interface with its addresses.
type NetworkInterface struct {
	ID      int64         `json:"id"`
	Order   int           `json:"order"`
	Enabled bool          `json:"enabled"`
	Name    string        `json:"name"`
	Type    string        `json:"type"`
	MAC     string        `json:"mac"`
	IPv4    []IPv4Address `json:"ipv4"`
	IPv6    []IPv6Subnet  `json:"ipv6"`
}

// IPv4Address is an address on an interface.
type IPv4Address struct {
	ID      int64   `json:"id"`
	Address string  `json:"address"`
	Gateway string  `json:"gateway"`
	Netmask string  `json:"netmask"`
	RDNS    *string `json:"rdns"`
}

// IPv6Subnet is a subnet on an interface.
type IPv6Subnet struct {
	ID     int64  `json:"id"`
	Subnet string `json:"subnet"`
	Cidr   int    `json:"cidr"`
}

// ServerStorage is one disk.
type ServerStorage struct {
	ID       int64  `json:"id"`
	Capacity int64  `json:"capacity"`
	Drive    string `json:"drive"`
	Type     string `json:"type"`
	Primary  bool   `json:"primary"`
	Enabled  bool   `json:"enabled"`
}

// ServerHypervisor is the hypervisor a server runs on.
type ServerHypervisor struct {
	ID          int64  `json:"id"`
	IP          string `json:"ip"`
	Maintenance bool   `json:"maintenance"`
	GroupID     int64  `json:"groupId"`
	Group       struct {
		Name string  `json:"name"`
		Icon *string `json:"icon"`
	} `json:"group"`
	Name string `json:"name"`
}

// Power states reported in RemoteState.State [inferred: libvirt's names].
const (
	PowerRunning = "running"
	PowerShutoff = "shutoff"
)

// RemoteState is the live state of a server read from its hypervisor
// (?remoteState=true). Only the power state is documented: State, e.g.
// "running"; there is no other running flag. The usage fields follow
// libvirt's domain stats [inferred].
type RemoteState struct {
	State  string  `json:"state"`
	CPU    float64 `json:"cpu"` // percent of allocated cores
	Memory struct {
		Actual int64 `json:"actual"` // KiB assigned
		Unused int64 `json:"unused"` // KiB unused inside the guest
	} `json:"memory"`
	Disk struct {
		Allocation int64 `json:"allocation"` // bytes used on the primary disk
		Capacity   int64 `json:"capacity"`   // bytes
	} `json:"disk"`
}

// ServerSummary is a server in list answers (type=simple).
type ServerSummary struct {
	ID           int64  `json:"id"`
	UUID         string `json:"uuid"`
	Name         string `json:"name"`
	Commissioned int    `json:"commissioned"`
	Owner        int64  `json:"owner"`
	HypervisorID int64  `json:"hypervisorId"`
	Suspended    bool   `json:"suspended"`
	Protected    bool   `json:"protected"`
	Updated      string `json:"updated"`
	Created      string `json:"created"`
}

// Page is one page of a Laravel-paginated list.
type Page[T any] struct {
	CurrentPage  int     `json:"current_page"`
	Data         []T     `json:"data"`
	FirstPageURL string  `json:"first_page_url"`
	From         *int    `json:"from"`
	LastPage     int     `json:"last_page"`
	LastPageURL  string  `json:"last_page_url"`
	Links        []Link  `json:"links"`
	NextPageURL  *string `json:"next_page_url"`
	Path         string  `json:"path"`
	PerPage      int     `json:"per_page"`
	PrevPageURL  *string `json:"prev_page_url"`
	To           *int    `json:"to"`
	Total        int     `json:"total"`
}

// Link is one entry of a Laravel page's links.
type Link struct {
	URL    *string `json:"url"`
	Label  string  `json:"label"`
	Active bool    `json:"active"`
}

// ListOptions selects a page: Results is the page size (1–200, default 20).
type ListOptions struct {
	Page    int
	Results int
}

// PowerAction is a power operation.
type PowerAction string

// Power actions.
const (
	PowerBoot     PowerAction = "boot"
	PowerShutdown PowerAction = "shutdown"
	PowerRestart  PowerAction = "restart"
	PowerOff      PowerAction = "poweroff"
)

// ChangePackageOptions says which of the new package's settings to apply.
type ChangePackageOptions struct {
	Memory               bool `json:"memory"`
	CPUCores             bool `json:"cpuCores"`
	PrimaryStorage       bool `json:"primaryStorage"`
	Traffic              bool `json:"traffic"`
	NetworkSpeedInbound  bool `json:"networkSpeedInbound"`
	NetworkSpeedOutbound bool `json:"networkSpeedOutbound"`
	BackupPlan           bool `json:"backupPlan"`
}

// ApplyAll applies every setting of the new package.
var ApplyAll = ChangePackageOptions{true, true, true, true, true, true, true}

// ServerPasswordReset is the answer of a root password reset: the task's
// queue id and the password it will set.
type ServerPasswordReset struct {
	QueueID          int64  `json:"queueId"`
	ExpectedPassword string `json:"expectedPassword"`
}

// Traffic is a server's traffic history, newest period first. RX, TX and
// Total are bytes; Limit is GB.
type Traffic struct {
	Monthly []TrafficPeriod `json:"monthly"`
}

// TrafficPeriod is one billing period of traffic.
type TrafficPeriod struct {
	Month  int    `json:"month"`
	Start  string `json:"start"`
	End    string `json:"end"`
	RX     int64  `json:"rx"`
	TX     int64  `json:"tx"`
	Total  int64  `json:"total"`
	Limit  int64  `json:"limit"`
	Blocks []struct {
		ID      int64 `json:"id"`
		Traffic int64 `json:"traffic"`
	} `json:"blocks"`
}

// Backup is one backup of a server.
type Backup struct {
	ID       int64 `json:"id"`
	ServerID int64 `json:"serverId"`
	Storage  struct {
		ID      int64  `json:"id"`
		Name    string `json:"name"`
		Enabled bool   `json:"enabled"`
	} `json:"storage"`
	Deleting    bool    `json:"deleting"`
	Restoring   bool    `json:"restoring"`
	Progress    bool    `json:"progress"`
	Complete    bool    `json:"complete"`
	DeleteAfter *string `json:"deleteAfter"`
	Created     string  `json:"created"`
	Updated     string  `json:"updated"`
}
