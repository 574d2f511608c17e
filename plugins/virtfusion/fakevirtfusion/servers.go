package fakevirtfusion

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
)

// server looks up the {id} server; it answers 404 {"msg":"server not found"}
// (what the official WHMCS module checks for) or 423 when the server is
// locked, and reports whether the handler may go on.
func (f *Fake) server(w http.ResponseWriter, r *http.Request, allowLocked bool) (*serverState, bool) {
	id, _ := pathID(r, "id")
	s, ok := f.servers[id]
	if !ok {
		notFound(w, "server")
		return nil, false
	}
	if !allowLocked && f.pendingTasks[id] {
		locked(w)
		return nil, false
	}
	return s, true
}

func (f *Fake) createServer(w http.ResponseWriter, r *http.Request) {
	var req vf.CreateServerRequest
	if err := decode(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []string
	pkg, ok := f.packages[req.PackageID]
	switch {
	case req.PackageID == 0:
		errs = append(errs, "The package id field is required.")
	case !ok:
		errs = append(errs, "The selected package id is invalid.")
	case !pkg.Enabled:
		errs = append(errs, "The selected package is disabled.")
	}
	owner, ok := f.users[req.UserID]
	if req.UserID == 0 {
		errs = append(errs, "The user id field is required.")
	} else if !ok {
		errs = append(errs, "The selected user id is invalid.")
	}
	var group *vf.HypervisorGroup
	for _, g := range f.groups {
		if g.ID == req.HypervisorID {
			group = g
		}
	}
	if req.HypervisorID == 0 {
		errs = append(errs, "The hypervisor id field is required.")
	} else if group == nil {
		errs = append(errs, "The selected hypervisor id is invalid.")
	}
	if req.IPv4 < 0 || req.IPv4 > 16 {
		errs = append(errs, "The ipv4 must be between 0 and 16.")
	}
	if len(errs) > 0 {
		invalid(w, errs...)
		return
	}
	memory, cores, storage, traffic := pkg.Memory, pkg.CPUCores, pkg.PrimaryStorage, pkg.Traffic
	if req.Memory > 0 {
		memory = req.Memory
	}
	if req.CPUCores > 0 {
		cores = req.CPUCores
	}
	if req.Storage > 0 {
		storage = req.Storage
	}
	if req.Traffic > 0 {
		traffic = req.Traffic
	}
	// Place the server on the group's hypervisor with the most free memory,
	// as the panel's default distribution does.
	var hv *vf.Hypervisor
	var best int64 = -1
	for _, h := range f.hypervisors {
		if h.GroupID != group.ID || !h.Enabled || h.Maintenance {
			continue
		}
		res := f.hvResources(h)
		if res.Memory.Free >= memory && res.CPUCores.Free >= cores && res.Servers.Free > 0 && res.Memory.Free > best {
			hv, best = h, res.Memory.Free
		}
	}
	if hv == nil {
		invalid(w, "No hypervisor in the selected group has enough free resources.")
		return
	}
	if r.URL.Query().Get("dryRun") == "true" {
		writeJSON(w, http.StatusOK, data{map[string]any{"dryRun": true}})
		return
	}
	now := f.stamp()
	s := &serverState{power: vf.PowerShutoff}
	s.ID, s.OwnerID, s.HypervisorID, s.Arch = f.nextServer, owner.ID, hv.ID, 1
	f.nextServer++
	s.UUID, s.State, s.Created, s.Updated = newUUID(), vf.StateAllocated, now, now
	s.Traffic.Public.CountMethod = 1
	start := f.now().UTC()
	s.Traffic.Public.CurrentPeriod.Start = start.Format("2006-01-02T00:00:00.000000Z")
	s.Traffic.Public.CurrentPeriod.End = start.AddDate(0, 1, -1).Format("2006-01-02T23:59:59.999999Z")
	s.Traffic.Public.CurrentPeriod.Limit = traffic
	s.Settings.OSTemplateInstall = true
	s.Settings.Resources.Memory, s.Settings.Resources.CPUCores = memory, cores
	s.Settings.Resources.Storage, s.Settings.Resources.Traffic = storage, traffic
	s.CPU.Cores, s.CPU.Type = cores, "inherit"
	s.VNC.IP, s.VNC.Port = hv.IP, 5900+int(s.ID)
	nic := vf.NetworkInterface{ID: s.ID, Order: 1, Enabled: true, Name: "eth0", Type: "public",
		MAC:  fmt.Sprintf("00:BA:76:%02X:%02X:%02X", byte(s.ID>>16), byte(s.ID>>8), byte(s.ID)),
		IPv4: []vf.IPv4Address{}, IPv6: []vf.IPv6Subnet{}}
	ipv4 := req.IPv4
	if ipv4 == 0 {
		ipv4 = 1
	}
	for range ipv4 {
		f.nextIP++
		nic.IPv4 = append(nic.IPv4, vf.IPv4Address{ID: int64(f.nextIP), Address: fmt.Sprintf("198.51.100.%d", f.nextIP%250+2),
			Gateway: "198.51.100.1", Netmask: "255.255.255.0"})
	}
	s.Network.Interfaces = []vf.NetworkInterface{nic}
	s.Storage = []vf.ServerStorage{{ID: 1, Capacity: storage, Drive: "a", Type: "qcow2", Primary: true, Enabled: true}}
	s.Hypervisor = vf.ServerHypervisor{ID: hv.ID, IP: hv.IP, Maintenance: hv.Maintenance, GroupID: group.ID, Name: hv.Name}
	s.Hypervisor.Group.Name = group.Name
	s.Owner = *owner
	s.SSHKeys = []int64{}
	f.servers[s.ID] = s
	writeJSON(w, http.StatusCreated, data{s.Server})
}

func (f *Fake) buildServer(w http.ResponseWriter, r *http.Request) {
	var req vf.BuildRequest
	if err := decode(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	if req.OperatingSystemID == 0 {
		invalid(w, "The operating system id field is required.")
		return
	}
	if _, ok := f.templates[req.OperatingSystemID]; !ok {
		invalid(w, "The selected operating system id is invalid.")
		return
	}
	if s.State != vf.StateAllocated {
		invalid(w, "The server has already been built.")
		return
	}
	now := f.stamp()
	s.State, s.CommissionStatus, s.Built, s.Updated = vf.StateQueued, 1, &now, now
	s.Name = req.Name
	if req.Hostname != "" {
		h := req.Hostname
		s.Hostname = &h
	}
	s.VNC.Enabled = req.VNC
	s.Settings.OSTemplateInstallID = req.OperatingSystemID
	s.Settings.DecryptedPassword = randomHex(8)
	s.Tasks.Active, s.Tasks.LastOn = true, &now
	// The install finishes with the server booted.
	s.power = vf.PowerRunning
	writeJSON(w, http.StatusOK, data{s.Server})
}

func (f *Fake) getServer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, true)
	if !ok {
		return
	}
	out := s.Server
	if r.URL.Query().Get("remoteState") == "true" {
		// Only "state" tells whether it runs; the panel sends no other
		// running flag.
		rs := &vf.RemoteState{State: s.power}
		if s.power == vf.PowerRunning {
			rs.CPU = s.cpuPercent
			rs.Memory.Actual = s.Settings.Resources.Memory * 1024
			rs.Memory.Unused = max(0, s.Settings.Resources.Memory-s.memUsedMB) * 1024
		}
		rs.Disk.Capacity = s.Settings.Resources.Storage << 30
		rs.Disk.Allocation = s.diskUsedGB << 30
		out.RemoteState = rs
	}
	writeJSON(w, http.StatusOK, data{out})
}

func (f *Fake) summaries(keep func(*serverState) bool) []vf.ServerSummary {
	out := []vf.ServerSummary{}
	for _, s := range f.servers {
		if keep(s) {
			out = append(out, vf.ServerSummary{ID: s.ID, UUID: s.UUID, Name: s.Name, Commissioned: s.CommissionStatus,
				Owner: s.OwnerID, HypervisorID: s.HypervisorID, Suspended: s.Suspended, Protected: s.Protected,
				Updated: s.Updated, Created: s.Created})
		}
	}
	slices.SortFunc(out, func(a, b vf.ServerSummary) int { return int(a.ID - b.ID) })
	return out
}

func (f *Fake) listServers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var hv int64
	if v := r.URL.Query().Get("hypervisorId"); v != "" {
		hv, _ = strconv.ParseInt(v, 10, 64)
	}
	paginate(w, r, f.summaries(func(s *serverState) bool { return hv == 0 || s.HypervisorID == hv }))
}

func (f *Fake) userServers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, _ := pathID(r, "id")
	if _, ok := f.users[id]; !ok {
		notFound(w, "user")
		return
	}
	// Laravel-paginated like every list: 20 per page unless ?results says.
	paginate(w, r, f.summaries(func(s *serverState) bool { return s.OwnerID == id }))
}

func (f *Fake) deleteServer(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	delay := 0
	if v := r.URL.Query().Get("delay"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 43800 {
			invalid(w, "The delay must be between 0 and 43800.")
			return
		}
		delay = n
	}
	if delay == 0 {
		delete(f.servers, s.ID)
		delete(f.pendingTasks, s.ID)
	} else {
		// The panel keeps the server, suspended, until the delay has passed.
		at := f.now().Add(time.Duration(delay) * time.Minute)
		s.deleteAfter, s.Suspended = &at, true
	}
	writeJSON(w, http.StatusNoContent, nil)
}

func (f *Fake) suspend(suspended bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		s, ok := f.server(w, r, false)
		if !ok {
			return
		}
		s.Suspended, s.Updated = suspended, f.stamp()
		if suspended {
			// Suspending stops the guest; unsuspending leaves it off.
			s.power = vf.PowerShutoff
		}
		writeJSON(w, http.StatusNoContent, nil)
	}
}

func (f *Fake) power(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	action := vf.PowerAction(r.PathValue("action"))
	if !slices.Contains([]vf.PowerAction{vf.PowerBoot, vf.PowerShutdown, vf.PowerRestart, vf.PowerOff}, action) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	if s.State != vf.StateQueued {
		invalid(w, "The server has not been built.")
		return
	}
	if s.Suspended {
		invalid(w, "The server is suspended.")
		return
	}
	switch action {
	case vf.PowerBoot, vf.PowerRestart:
		s.power = vf.PowerRunning
	default:
		s.power = vf.PowerShutoff
	}
	f.nextQueue++
	writeJSON(w, http.StatusOK, data{map[string]int64{"queueId": f.nextQueue}})
}

func (f *Fake) changePackage(w http.ResponseWriter, r *http.Request) {
	var opts vf.ChangePackageOptions
	if err := decode(r, &opts); err != nil {
		invalid(w, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	pkgID, _ := pathID(r, "pkg")
	pkg, ok := f.packages[pkgID]
	if !ok {
		notFound(w, "package")
		return
	}
	info := []string{}
	res := &s.Settings.Resources
	if opts.Memory {
		res.Memory = pkg.Memory
		info = append(info, fmt.Sprintf("memory set to %d MB", pkg.Memory))
	}
	if opts.CPUCores {
		res.CPUCores, s.CPU.Cores = pkg.CPUCores, pkg.CPUCores
		info = append(info, fmt.Sprintf("cpu cores set to %d", pkg.CPUCores))
	}
	if opts.PrimaryStorage {
		if pkg.PrimaryStorage < res.Storage {
			info = append(info, "primary storage not shrunk")
		} else {
			res.Storage, s.Storage[0].Capacity = pkg.PrimaryStorage, pkg.PrimaryStorage
			info = append(info, fmt.Sprintf("primary storage set to %d GB", pkg.PrimaryStorage))
		}
	}
	if opts.Traffic {
		res.Traffic, s.Traffic.Public.CurrentPeriod.Limit = pkg.Traffic, pkg.Traffic
		info = append(info, fmt.Sprintf("traffic set to %d GB", pkg.Traffic))
	}
	s.Updated = f.stamp()
	writeJSON(w, http.StatusOK, map[string][]string{"info": info})
}

func (f *Fake) modifyName(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	if strings.TrimSpace(req.Name) == "" {
		invalid(w, "The name field is required.")
		return
	}
	s.Name, s.Updated = req.Name, f.stamp()
	writeJSON(w, http.StatusCreated, data{map[string]string{"name": s.Name}})
}

func (f *Fake) resetServerPassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User     string `json:"user"`
		SendMail bool   `json:"sendMail"`
	}
	if err := decode(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	if req.User == "" {
		invalid(w, "The user field is required.")
		return
	}
	if s.State != vf.StateQueued {
		invalid(w, "The server has not been built.")
		return
	}
	f.nextQueue++
	pw := randomHex(8)
	if req.User == "root" {
		s.Settings.DecryptedPassword = pw
	}
	writeJSON(w, http.StatusOK, data{vf.ServerPasswordReset{QueueID: f.nextQueue, ExpectedPassword: pw}})
}

func (f *Fake) traffic(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, true)
	if !ok {
		return
	}
	start, _ := time.Parse("2006-01-02T15:04:05.000000Z", s.Traffic.Public.CurrentPeriod.Start)
	end, _ := time.Parse("2006-01-02T15:04:05.999999Z", s.Traffic.Public.CurrentPeriod.End)
	p := vf.TrafficPeriod{Month: int(start.Month()), Start: start.Format("2006-01-02"), End: end.Format("2006-01-02"),
		RX: s.rx, TX: s.tx, Total: s.rx + s.tx, Limit: s.Settings.Resources.Traffic}
	p.Blocks = append(p.Blocks, struct {
		ID      int64 `json:"id"`
		Traffic int64 `json:"traffic"`
	}{1, s.Settings.Resources.Traffic})
	writeJSON(w, http.StatusOK, data{vf.Traffic{Monthly: []vf.TrafficPeriod{p}}})
}

func (f *Fake) backups(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, true)
	if !ok {
		return
	}
	out := append([]vf.Backup{}, s.backups...)
	writeJSON(w, http.StatusOK, data{out})
}

func (f *Fake) backupPlan(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.server(w, r, false)
	if !ok {
		return
	}
	plan, err := strconv.ParseInt(r.PathValue("plan"), 10, 64)
	if err != nil || plan < 0 {
		invalid(w, "The selected plan is invalid.")
		return
	}
	if plan == 0 {
		s.Settings.BackupPlan = nil
	} else {
		s.Settings.BackupPlan = &plan
	}
	writeJSON(w, http.StatusCreated, data{map[string]any{"backupPlan": s.Settings.BackupPlan}})
}
