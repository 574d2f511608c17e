package fakevirtfusion

import (
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
)

func (f *Fake) routes() {
	f.mux = http.NewServeMux()
	p := BasePath
	f.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	})
	f.handle("GET "+p+"/connect", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, map[string]any{}) })

	f.handle("GET "+p+"/users/{ext}/byExtRelation", f.getUser)
	f.handle("POST "+p+"/users", f.createUser)
	f.handle("DELETE "+p+"/users/{ext}/byExtRelation", f.deleteUser)
	f.handle("POST "+p+"/users/{ext}/byExtRelation/resetPassword", f.resetUserPassword)
	f.handle("POST "+p+"/users/{ext}/serverAuthenticationTokens/{id}", f.authTokens)

	f.handle("GET "+p+"/packages", f.listPackages)
	f.handle("GET "+p+"/packages/{id}", f.getPackage)
	f.handle("GET "+p+"/compute/hypervisors", f.listHypervisors)
	f.handle("GET "+p+"/compute/hypervisors/groups", f.listGroups)
	f.handle("GET "+p+"/compute/hypervisors/groups/{id}", f.getGroup)
	f.handle("GET "+p+"/compute/hypervisors/groups/{id}/resources", f.groupResources)

	f.handle("POST "+p+"/servers", f.createServer)
	f.handle("GET "+p+"/servers", f.listServers)
	// GET /servers/user/{id} and GET /servers/{id}/traffic overlap as
	// ServeMux patterns, so one pattern dispatches both under their own
	// route names (which FailNext and Calls use).
	f.mux.HandleFunc("GET "+p+"/servers/{id}/{sub}", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.PathValue("id") == "user":
			r.SetPathValue("id", r.PathValue("sub"))
			f.serve("GET "+p+"/servers/user/{id}", w, r, f.userServers)
		case r.PathValue("sub") == "traffic":
			f.serve("GET "+p+"/servers/{id}/traffic", w, r, f.traffic)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		}
	})
	f.handle("GET "+p+"/servers/{id}", f.getServer)
	f.handle("DELETE "+p+"/servers/{id}", f.deleteServer)
	f.handle("POST "+p+"/servers/{id}/build", f.buildServer)
	f.handle("POST "+p+"/servers/{id}/suspend", f.suspend(true))
	f.handle("POST "+p+"/servers/{id}/unsuspend", f.suspend(false))
	f.handle("POST "+p+"/servers/{id}/power/{action}", f.power)
	f.handle("PUT "+p+"/servers/{id}/package/{pkg}", f.changePackage)
	f.handle("PUT "+p+"/servers/{id}/modify/name", f.modifyName)
	f.handle("POST "+p+"/servers/{id}/resetPassword", f.resetServerPassword)
	f.handle("GET "+p+"/backups/server/{id}", f.backups)
	f.handle("PUT "+p+"/servers/{id}/backups/plan/{plan}", f.backupPlan)
}

// ---- users ----

func (f *Fake) userByExt(r *http.Request) (*vf.User, bool) {
	ext, err := strconv.ParseInt(r.PathValue("ext"), 10, 64)
	if err != nil {
		return nil, false
	}
	id, ok := f.byExt[ext]
	if !ok {
		return nil, false
	}
	return f.users[id], true
}

func (f *Fake) getUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.userByExt(r)
	if !ok {
		notFound(w, "user")
		return
	}
	writeJSON(w, http.StatusOK, data{u})
}

func (f *Fake) createUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name          string `json:"name"`
		Email         string `json:"email"`
		ExtRelationID *int64 `json:"extRelationId"`
		SelfService   int    `json:"selfService"`
		SendMail      bool   `json:"sendMail"`
	}
	if err := decode(r, &req); err != nil {
		invalid(w, err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []string
	if strings.TrimSpace(req.Name) == "" {
		errs = append(errs, "The name field is required.")
	}
	if req.Email == "" {
		errs = append(errs, "The email field is required.")
	} else if _, err := mail.ParseAddress(req.Email); err != nil {
		errs = append(errs, "The email must be a valid email address.")
	}
	if req.SelfService < 0 || req.SelfService > 3 {
		errs = append(errs, "The selected self service is invalid.")
	}
	if req.ExtRelationID != nil {
		if _, taken := f.byExt[*req.ExtRelationID]; taken {
			errs = append(errs, "The ext relation id has already been taken.")
		}
	}
	for _, u := range f.users {
		if strings.EqualFold(u.Email, req.Email) {
			errs = append(errs, "The email has already been taken.")
			break
		}
	}
	if len(errs) > 0 {
		invalid(w, errs...)
		return
	}
	u := &vf.User{
		ID: f.nextUser, ExtRelationID: req.ExtRelationID, SelfService: req.SelfService,
		SelfServiceHourlyGroupProfiles: []int64{}, SelfServiceResourceGroupProfiles: []int64{},
		Name: req.Name, Email: req.Email, Timezone: "Europe/London", Created: f.stamp(), Updated: f.stamp(),
	}
	f.nextUser++
	f.users[u.ID] = u
	if req.ExtRelationID != nil {
		f.byExt[*req.ExtRelationID] = u.ID
	}
	out := *u
	out.Password = randomHex(8)
	writeJSON(w, http.StatusCreated, data{out})
}

func (f *Fake) deleteUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.userByExt(r)
	if !ok {
		notFound(w, "user")
		return
	}
	for _, s := range f.servers {
		if s.OwnerID == u.ID {
			invalid(w, "The user has servers and cannot be deleted.")
			return
		}
	}
	delete(f.users, u.ID)
	delete(f.byExt, *u.ExtRelationID)
	writeJSON(w, http.StatusNoContent, nil)
}

func (f *Fake) resetUserPassword(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.userByExt(r)
	if !ok {
		notFound(w, "user")
		return
	}
	writeJSON(w, http.StatusCreated, data{vf.UserPasswordReset{Email: u.Email, Password: randomHex(8)}})
}

func (f *Fake) authTokens(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.userByExt(r)
	if !ok {
		notFound(w, "user")
		return
	}
	id, _ := pathID(r, "id")
	s, ok := f.servers[id]
	if !ok {
		notFound(w, "server")
		return
	}
	if s.OwnerID != u.ID {
		// The panel refuses tokens for a server the user does not own.
		writeJSON(w, http.StatusForbidden, map[string]string{"msg": "user does not own this server"})
		return
	}
	t1, t2 := randomHex(20), randomHex(20)
	const ttl = 30
	var out vf.AuthenticationTokens
	out.Tokens = map[string]string{"1": t1, "2": t2}
	// Both are paths relative to the panel's origin, as on a real panel
	// (clients such as the Blesta module prefix https://<panel host>).
	out.Endpoint = "/authenticate/server/" + s.UUID
	out.EndpointComplete = out.Endpoint + "?" + url.Values{"token1": {t1}, "token2": {t2}}.Encode()
	out.Expiry.TTL = ttl
	out.Expiry.Expires = f.now().Add(ttl * time.Second).UTC().Format("2006-01-02T15:04:05-07:00")
	writeJSON(w, http.StatusOK, data{map[string]any{"authentication": out}})
}

// ---- catalogue ----

func (f *Fake) listPackages(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*vf.Package, 0, len(f.packages))
	for _, p := range f.packages {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *vf.Package) int { return int(a.ID - b.ID) })
	writeJSON(w, http.StatusOK, data{out})
}

func (f *Fake) getPackage(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, _ := pathID(r, "id")
	p, ok := f.packages[id]
	if !ok {
		notFound(w, "package")
		return
	}
	writeJSON(w, http.StatusOK, data{p})
}

func (f *Fake) listGroups(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	paginate(w, r, f.groups)
}

func (f *Fake) listHypervisors(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	paginate(w, r, f.hypervisors)
}

func (f *Fake) group(r *http.Request) (*vf.HypervisorGroup, bool) {
	id, _ := pathID(r, "id")
	for _, g := range f.groups {
		if g.ID == id {
			return g, true
		}
	}
	return nil, false
}

func (f *Fake) getGroup(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.group(r)
	if !ok {
		notFound(w, "hypervisor group")
		return
	}
	writeJSON(w, http.StatusOK, data{g})
}

// hvResources computes a hypervisor's capacity from the servers on it.
func (f *Fake) hvResources(h *vf.Hypervisor) vf.HypervisorResources {
	var n, mem, cpu, disk int64
	for _, s := range f.servers {
		if s.HypervisorID == h.ID {
			n++
			mem += s.Settings.Resources.Memory
			cpu += s.Settings.Resources.CPUCores
			disk += s.Settings.Resources.Storage
		}
	}
	res := func(max, alloc int64) vf.Resource { return vf.Resource{Max: max, Allocated: alloc, Free: max - alloc} }
	return vf.HypervisorResources{
		ID: h.ID, Name: h.Name, Enabled: h.Enabled, Maintenance: h.Maintenance,
		Servers: res(h.MaxServers, n), Memory: res(h.MaxMemory, mem), CPUCores: res(h.MaxCPU, cpu), Storage: res(f.storagePerHV, disk),
	}
}

func (f *Fake) groupResources(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.group(r)
	if !ok {
		notFound(w, "hypervisor group")
		return
	}
	out := vf.GroupResources{ID: g.ID, Name: g.Name, Hypervisors: []vf.HypervisorResources{}}
	for _, h := range f.hypervisors {
		if h.GroupID == g.ID {
			out.Hypervisors = append(out.Hypervisors, f.hvResources(h))
		}
	}
	writeJSON(w, http.StatusOK, data{out})
}

// paginate answers items as a Laravel LengthAwarePaginator page, honouring
// ?results (1–200, default 20) and ?page.
func paginate[T any](w http.ResponseWriter, r *http.Request, items []T) {
	q := r.URL.Query()
	per := 20
	if v := q.Get("results"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			invalid(w, "The results must be between 1 and 200.")
			return
		}
		per = n
	}
	page := 1
	if v := q.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			page = n
		}
	}
	total := len(items)
	last := max(1, (total+per-1)/per)
	path := baseURL(r) + r.URL.Path
	pageURL := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		return path + "?" + v.Encode()
	}
	ptr := func(s string) *string { return &s }
	out := vf.Page[T]{
		CurrentPage: page, Data: []T{}, FirstPageURL: pageURL(1), LastPage: last, LastPageURL: pageURL(last),
		Path: path, PerPage: per, Total: total,
	}
	if start := (page - 1) * per; start < total {
		end := min(start+per, total)
		out.Data = items[start:end]
		from, to := start+1, end
		out.From, out.To = &from, &to
	}
	if page < last {
		out.NextPageURL = ptr(pageURL(page + 1))
	}
	if page > 1 {
		out.PrevPageURL = ptr(pageURL(page - 1))
	}
	out.Links = append(out.Links, vf.Link{URL: out.PrevPageURL, Label: "&laquo; Previous"})
	for n := 1; n <= last; n++ {
		out.Links = append(out.Links, vf.Link{URL: ptr(pageURL(n)), Label: strconv.Itoa(n), Active: n == page})
	}
	out.Links = append(out.Links, vf.Link{URL: out.NextPageURL, Label: "Next &raquo;"})
	writeJSON(w, http.StatusOK, out)
}
