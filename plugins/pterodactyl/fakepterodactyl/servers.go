package fakepterodactyl

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

// settle applies the passage of time to a server: an install whose duration
// has passed completes (and starts the server when asked to).
func (f *Fake) settle(s *serverState) {
	if s.StatusString() == pt.StatusInstalling && !f.now().Before(s.installedAt) {
		s.Status, s.Container.Installed = nil, 1
		if s.startOnFinish {
			s.power, s.startedAt = pt.StateRunning, f.now()
		}
	}
}

func strPtr(s string) *string { return &s }

func (f *Fake) view(s *serverState, includeAllocations bool) pt.Server {
	f.settle(s)
	out := s.Server
	if includeAllocations {
		l := &pt.List[pt.Allocation]{Object: "list"}
		for _, a := range f.allocations {
			if a.serverID == s.ID {
				l.Data = append(l.Data, pt.Item[pt.Allocation]{Object: "allocation", Attributes: a.view()})
			}
		}
		out.Relationships = &struct {
			Allocations *pt.List[pt.Allocation] `json:"allocations,omitempty"`
		}{l}
	}
	return out
}

func includes(r *http.Request, name string) bool {
	return slices.Contains(strings.Split(r.URL.Query().Get("include"), ","), name)
}

func (f *Fake) listServers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []pt.Server{}
	for _, s := range f.servers {
		v := f.view(s, includes(r, "allocations"))
		ext := ""
		if v.ExternalID != nil {
			ext = *v.ExternalID
		}
		if partial(r, "uuid", v.UUID) && partial(r, "uuidShort", v.Identifier) && partial(r, "name", v.Name) &&
			partial(r, "description", v.Description) && partial(r, "image", v.Container.Image) && partial(r, "external_id", ext) {
			out = append(out, v)
		}
	}
	list(w, r, "server", out)
}

func (f *Fake) getServer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.serverByID(pathID(r, "id"))
	if s == nil {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, item("server", f.view(s, includes(r, "allocations"))))
}

func (f *Fake) getServerByExternal(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.servers {
		if s.ExternalID != nil && *s.ExternalID == r.PathValue("ext") {
			writeJSON(w, http.StatusOK, item("server", f.view(s, includes(r, "allocations"))))
			return
		}
	}
	writeNotFound(w)
}

// limitsReq distinguishes a missing limit from a zero one, as Laravel's
// "required" rule does.
type limitsReq struct {
	Memory  *int64  `json:"memory"`
	Swap    *int64  `json:"swap"`
	Disk    *int64  `json:"disk"`
	IO      *int64  `json:"io"`
	CPU     *int64  `json:"cpu"`
	Threads *string `json:"threads"`
}

var threadsPattern = regexp.MustCompile(`^[0-9-,]+$`)

func validateLimits(prefix string, l *limitsReq) []fieldError {
	var errs []fieldError
	if l == nil {
		return []fieldError{{prefix, "required", "The " + prefix + " field is required."}}
	}
	check := func(name string, v *int64, min, max int64) {
		field := name
		if prefix != "" {
			field = prefix + "." + name
		}
		switch {
		case v == nil:
			errs = append(errs, fieldError{field, "required", "The " + field + " field is required."})
		case max > 0 && (*v < min || *v > max):
			errs = append(errs, fieldError{field, "between", fmt.Sprintf("The %s must be between %d and %d.", field, min, max)})
		case *v < min:
			errs = append(errs, fieldError{field, "min", fmt.Sprintf("The %s must be at least %d.", field, min)})
		}
	}
	check("memory", l.Memory, 0, 0)
	check("swap", l.Swap, -1, 0)
	check("disk", l.Disk, 0, 0)
	check("io", l.IO, 10, 1000)
	check("cpu", l.CPU, 0, 0)
	if l.Threads != nil && !threadsPattern.MatchString(*l.Threads) {
		errs = append(errs, fieldError{"threads", "regex", "The threads format is invalid."})
	}
	return errs
}

// featureLimits decodes feature_limits keeping track of which keys were
// present: databases and backups must be present even when null.
func featureLimits(raw map[string]json.RawMessage, required ...string) (pt.FeatureLimits, []fieldError) {
	var out pt.FeatureLimits
	var errs []fieldError
	if raw == nil {
		return out, []fieldError{{"feature_limits", "required", "The feature limits field is required."}}
	}
	for _, k := range required {
		if _, ok := raw[k]; !ok {
			errs = append(errs, fieldError{"feature_limits." + k, "present", "The feature_limits." + k + " field must be present."})
		}
	}
	get := func(k string) *int64 {
		var v *int64
		if b, ok := raw[k]; ok && json.Unmarshal(b, &v) != nil {
			errs = append(errs, fieldError{"feature_limits." + k, "integer", "The feature_limits." + k + " must be an integer."})
		}
		if v != nil && *v < 0 {
			errs = append(errs, fieldError{"feature_limits." + k, "min", "The feature_limits." + k + " must be at least 0."})
		}
		return v
	}
	out.Databases, out.Allocations, out.Backups = get("databases"), get("allocations"), get("backups")
	return out, errs
}

func (f *Fake) createServer(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name          *string                    `json:"name"`
		User          *int64                     `json:"user"`
		Egg           *int64                     `json:"egg"`
		ExternalID    *string                    `json:"external_id"`
		Description   string                     `json:"description"`
		DockerImage   *string                    `json:"docker_image"`
		Startup       *string                    `json:"startup"`
		Environment   map[string]any             `json:"environment"`
		Limits        *limitsReq                 `json:"limits"`
		FeatureLimits map[string]json.RawMessage `json:"feature_limits"`
		Allocation    *struct {
			Default    *int64  `json:"default"`
			Additional []int64 `json:"additional"`
		} `json:"allocation"`
		Deploy            map[string]json.RawMessage `json:"deploy"`
		SkipScripts       bool                       `json:"skip_scripts"`
		OOMDisabled       *bool                      `json:"oom_disabled"`
		StartOnCompletion bool                       `json:"start_on_completion"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	var errs []fieldError
	req1 := func(field, label string, missing bool) {
		if missing {
			errs = append(errs, fieldError{field, "required", "The " + label + " field is required."})
		}
	}
	req1("name", "name", req.Name == nil || strings.TrimSpace(*req.Name) == "")
	req1("user", "user", req.User == nil)
	if req.User != nil && f.userByID(*req.User) == nil {
		errs = append(errs, fieldError{"user", "exists", "The selected user is invalid."})
	}
	req1("egg", "egg", req.Egg == nil)
	var e *egg
	if req.Egg != nil {
		if e = f.eggByID(*req.Egg); e == nil {
			errs = append(errs, fieldError{"egg", "exists", "The selected egg is invalid."})
		}
	}
	req1("docker_image", "docker image", req.DockerImage == nil || *req.DockerImage == "")
	req1("startup", "startup", req.Startup == nil || *req.Startup == "")
	if req.Environment == nil {
		errs = append(errs, fieldError{"environment", "present", "The environment field must be present."})
	}
	if req.ExternalID != nil && *req.ExternalID != "" {
		for _, s := range f.servers {
			if s.ExternalID != nil && *s.ExternalID == *req.ExternalID {
				errs = append(errs, fieldError{"external_id", "unique", "The external id has already been taken."})
			}
		}
	}
	errs = append(errs, validateLimits("limits", req.Limits)...)
	fl, flErrs := featureLimits(req.FeatureLimits, "databases", "backups")
	errs = append(errs, flErrs...)
	deploy, deployErrs := decodeDeploy(req.Deploy)
	errs = append(errs, deployErrs...)
	var alloc *allocation
	switch {
	case req.Allocation == nil && req.Deploy == nil:
		errs = append(errs, fieldError{"allocation.default", "required_without", "The allocation.default field is required when deploy is not present."})
	case req.Allocation != nil:
		if req.Allocation.Default == nil {
			errs = append(errs, fieldError{"allocation.default", "required", "The allocation.default field is required."})
		} else if alloc = f.allocationByID(*req.Allocation.Default); alloc == nil || alloc.serverID != 0 {
			errs = append(errs, fieldError{"allocation.default", "exists", "The selected allocation.default is invalid."})
		}
	case len(deploy.Locations) == 0 && len(deployErrs) == 0:
		errs = append(errs, fieldError{"deploy.locations", "required_with", "The deploy.locations field is required when deploy is present."})
	}
	if e != nil && req.Environment != nil {
		for _, v := range e.variables {
			if !variableRequired(v) {
				continue
			}
			if val, ok := req.Environment[v.EnvVariable]; !ok || val == nil || fmt.Sprint(val) == "" {
				errs = append(errs, fieldError{"environment." + v.EnvVariable, "required", "The " + v.Name + " variable field is required."})
			}
		}
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}

	var node *pt.Node
	if alloc != nil {
		node = f.nodeByID(alloc.node)
	} else {
		// Automatic deployment, as the panel's FindViableNodesService and
		// AllocationSelectionService do it: the nodes in the locations with
		// room for the limits (none: NoViableNodeException), then the first
		// free allocation in the port range on one of them (none:
		// NoViableAllocationException). Both are 400 DisplayExceptions.
		viable := 0
		for _, n := range f.nodes {
			if !slices.Contains(deploy.Locations, n.LocationID) || n.MaintenanceMode || !f.fits(n, *req.Limits.Memory, *req.Limits.Disk) {
				continue
			}
			viable++
			for _, a := range f.allocations {
				if a.node == n.ID && a.serverID == 0 && inPortRange(a.Port, deploy.PortRange) {
					node, alloc = n, a
					break
				}
			}
			if alloc != nil {
				break
			}
		}
		if viable == 0 {
			writeError(w, http.StatusBadRequest, "NoViableNodeException", "No nodes satisfying the requirements specified for automatic deployment could be found.")
			return
		}
		if alloc == nil {
			writeError(w, http.StatusBadRequest, "NoViableAllocationException", "No allocations satisfying the requirements for automatic deployment were found.")
			return
		}
	}

	s := &serverState{power: pt.StateOffline, installedAt: f.now().Add(f.installDuration), startOnFinish: req.StartOnCompletion}
	s.ID = f.nextServer
	f.nextServer++
	s.UUID = newUUID()
	s.Identifier = s.UUID[:8]
	s.ExternalID = req.ExternalID
	s.Name, s.Description = *req.Name, req.Description
	s.Status = strPtr(pt.StatusInstalling)
	oom := true
	if req.OOMDisabled != nil {
		oom = *req.OOMDisabled
	}
	s.Limits = pt.Limits{Memory: *req.Limits.Memory, Swap: *req.Limits.Swap, Disk: *req.Limits.Disk, IO: *req.Limits.IO,
		CPU: *req.Limits.CPU, Threads: req.Limits.Threads, OOMDisabled: &oom}
	if fl.Allocations == nil {
		zero := int64(0)
		fl.Allocations = &zero
	}
	s.FeatureLimits = fl
	s.User, s.Node, s.Allocation, s.Nest, s.Egg = *req.User, node.ID, alloc.ID, e.Nest, e.ID
	s.Container.StartupCommand, s.Container.Image = *req.Startup, *req.DockerImage
	env := map[string]any{}
	for _, v := range e.variables {
		env[v.EnvVariable] = v.DefaultValue
	}
	for k, v := range req.Environment {
		env[k] = v
	}
	env["STARTUP"] = *req.Startup
	env["P_SERVER_LOCATION"] = fmt.Sprintf("location-%d", node.LocationID)
	env["P_SERVER_UUID"] = s.UUID
	env["P_SERVER_ALLOCATION_LIMIT"] = *fl.Allocations
	s.Container.Environment = env
	s.CreatedAt, s.UpdatedAt = f.stamp(), f.stamp()
	alloc.serverID = s.ID
	if req.Allocation != nil {
		for _, id := range req.Allocation.Additional {
			if a := f.allocationByID(id); a != nil && a.serverID == 0 && a.node == node.ID {
				a.serverID = s.ID
			}
		}
	}
	f.servers = append(f.servers, s)
	// The creation answer always shows the server installing.
	writeJSON(w, http.StatusCreated, item("server", s.Server))
}

// deployRequest is StoreServerRequest's deploy block.
type deployRequest struct {
	Locations   []int64
	DedicatedIP bool
	PortRange   []string
}

// decodeDeploy applies the panel's rules to deploy: deploy.locations and
// deploy.port_range are "array" and deploy.dedicated_ip "required_with:
// deploy|boolean", none of them nullable, so a key sent as null fails its
// rule as in Laravel (a 422, not "no port range"); an absent key is fine.
func decodeDeploy(raw map[string]json.RawMessage) (deployRequest, []fieldError) {
	var out deployRequest
	if raw == nil {
		return out, nil
	}
	var errs []fieldError
	array := func(key, label string, dst any) {
		v, ok := raw[key]
		if !ok {
			return
		}
		if string(v) == "null" || json.Unmarshal(v, dst) != nil {
			errs = append(errs, fieldError{"deploy." + key, "array", "The deploy." + label + " must be an array."})
		}
	}
	array("locations", "locations", &out.Locations)
	array("port_range", "port range", &out.PortRange)
	switch v, ok := raw["dedicated_ip"]; {
	case !ok || string(v) == "null":
		errs = append(errs, fieldError{"deploy.dedicated_ip", "required_with", "The deploy.dedicated ip field is required when deploy is present."})
	case json.Unmarshal(v, &out.DedicatedIP) != nil:
		errs = append(errs, fieldError{"deploy.dedicated_ip", "boolean", "The deploy.dedicated ip field must be true or false."})
	}
	return out, errs
}

func inPortRange(port int, ranges []string) bool {
	if len(ranges) == 0 {
		return true
	}
	for _, r := range ranges {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 == nil && err2 == nil && port >= a && port <= b {
			return true
		}
	}
	return false
}

func (f *Fake) updateBuild(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Allocation *int64 `json:"allocation"`
		limitsReq
		Limits            *limitsReq                 `json:"limits"`
		FeatureLimits     map[string]json.RawMessage `json:"feature_limits"`
		AddAllocations    []int64                    `json:"add_allocations"`
		RemoveAllocations []int64                    `json:"remove_allocations"`
		OOMDisabled       *bool                      `json:"oom_disabled"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.serverByID(pathID(r, "id"))
	if s == nil {
		writeNotFound(w)
		return
	}
	var errs []fieldError
	if req.Allocation == nil {
		errs = append(errs, fieldError{"allocation", "required", "The allocation field is required."})
	}
	// The legacy top-level fields are required when "limits" is absent.
	limits, prefix := req.Limits, "limits"
	if limits == nil {
		limits, prefix = &req.limitsReq, ""
	}
	errs = append(errs, validateLimits(prefix, limits)...)
	fl, flErrs := featureLimits(req.FeatureLimits, "databases", "allocations", "backups")
	errs = append(errs, flErrs...)
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	for _, id := range req.AddAllocations {
		a := f.allocationByID(id)
		if a == nil || a.node != s.Node || (a.serverID != 0 && a.serverID != s.ID) {
			writeError(w, http.StatusBadRequest, "DisplayException", "One or more of the allocations to add are not available on this node.")
			return
		}
	}
	def := f.allocationByID(*req.Allocation)
	willOwn := def != nil && (def.serverID == s.ID || slices.Contains(req.AddAllocations, def.ID)) && !slices.Contains(req.RemoveAllocations, def.ID)
	if !willOwn {
		writeError(w, http.StatusBadRequest, "DisplayException", "The requested default allocation is not currently assigned to this server.")
		return
	}
	for _, id := range req.AddAllocations {
		f.allocationByID(id).serverID = s.ID
	}
	for _, id := range req.RemoveAllocations {
		if a := f.allocationByID(id); a != nil && a.serverID == s.ID {
			a.serverID = 0
		}
	}
	oom := true
	if s.Limits.OOMDisabled != nil {
		oom = *s.Limits.OOMDisabled
	}
	if req.OOMDisabled != nil {
		oom = *req.OOMDisabled
	}
	s.Limits = pt.Limits{Memory: *limits.Memory, Swap: *limits.Swap, Disk: *limits.Disk, IO: *limits.IO, CPU: *limits.CPU,
		Threads: limits.Threads, OOMDisabled: &oom}
	s.FeatureLimits = fl
	s.Allocation = def.ID
	s.UpdatedAt = f.stamp()
	writeJSON(w, http.StatusOK, item("server", f.view(s, false)))
}

func (f *Fake) updateDetails(w http.ResponseWriter, r *http.Request) {
	var req pt.DetailsRequest
	if !decodeBody(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.serverByID(pathID(r, "id"))
	if s == nil {
		writeNotFound(w)
		return
	}
	var errs []fieldError
	if strings.TrimSpace(req.Name) == "" {
		errs = append(errs, fieldError{"name", "required", "The name field is required."})
	}
	if f.userByID(req.User) == nil {
		errs = append(errs, fieldError{"user", "exists", "The selected user is invalid."})
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	s.Name, s.User, s.Description = req.Name, req.User, req.Description
	if req.ExternalID != "" {
		s.ExternalID = strPtr(req.ExternalID)
	}
	s.UpdatedAt = f.stamp()
	writeJSON(w, http.StatusOK, item("server", f.view(s, false)))
}

func (f *Fake) suspend(suspended bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		s := f.serverByID(pathID(r, "id"))
		if s == nil {
			writeNotFound(w)
			return
		}
		f.settle(s)
		if suspended {
			// Wings stops a suspended server.
			s.Status, s.Suspended, s.power = strPtr(pt.StatusSuspended), true, pt.StateOffline
		} else if s.Suspended {
			s.Status, s.Suspended = nil, false
		}
		s.UpdatedAt = f.stamp()
		writeJSON(w, http.StatusNoContent, nil)
	}
}

func (f *Fake) reinstall(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.serverByID(pathID(r, "id"))
	if s == nil {
		writeNotFound(w)
		return
	}
	s.Status, s.Container.Installed, s.power = strPtr(pt.StatusInstalling), 0, pt.StateOffline
	s.installedAt, s.startOnFinish = f.now().Add(f.installDuration), false
	writeJSON(w, http.StatusNoContent, nil)
}

func (f *Fake) deleteServer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.serverByID(pathID(r, "id"))
	if s == nil {
		writeNotFound(w)
		return
	}
	for _, a := range f.allocations {
		if a.serverID == s.ID {
			a.serverID = 0
		}
	}
	f.servers = slices.DeleteFunc(f.servers, func(x *serverState) bool { return x == s })
	writeJSON(w, http.StatusNoContent, nil)
}
