package fakepterodactyl

import (
	"encoding/json"

	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	pt "github.com/ezscale/platform/plugins/pterodactyl/pterodactylapi"
)

func (f *Fake) routes() {
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { writeNotFound(w) })
	a := "/api/application"
	f.handleApp("GET "+a+"/users", f.listUsers)
	f.handleApp("GET "+a+"/users/{id}", f.getUser)
	f.handleApp("GET "+a+"/users/external/{ext}", f.getUserByExternal)
	f.handleApp("POST "+a+"/users", f.createUser)
	f.handleApp("PATCH "+a+"/users/{id}", f.updateUser)
	f.handleApp("DELETE "+a+"/users/{id}", f.deleteUser)

	f.handleApp("GET "+a+"/servers", f.listServers)
	f.handleApp("GET "+a+"/servers/{id}", f.getServer)
	f.handleApp("GET "+a+"/servers/external/{ext}", f.getServerByExternal)
	f.handleApp("POST "+a+"/servers", f.createServer)
	f.handleApp("PATCH "+a+"/servers/{id}/build", f.updateBuild)
	f.handleApp("PATCH "+a+"/servers/{id}/details", f.updateDetails)
	f.handleApp("POST "+a+"/servers/{id}/suspend", f.suspend(true))
	f.handleApp("POST "+a+"/servers/{id}/unsuspend", f.suspend(false))
	f.handleApp("POST "+a+"/servers/{id}/reinstall", f.reinstall)
	f.handleApp("DELETE "+a+"/servers/{id}", f.deleteServer)
	f.handleApp("DELETE "+a+"/servers/{id}/force", f.deleteServer)

	f.handleApp("GET "+a+"/nodes", f.listNodes)
	f.handleApp("GET "+a+"/nodes/deployable", f.deployableNodes)
	f.handleApp("GET "+a+"/nodes/{id}", f.getNode)
	f.handleApp("GET "+a+"/nodes/{id}/allocations", f.listAllocations)
	f.handleApp("GET "+a+"/nests", f.listNests)
	f.handleApp("GET "+a+"/nests/{nest}/eggs", f.listEggs)
	f.handleApp("GET "+a+"/nests/{nest}/eggs/{egg}", f.getEgg)

	c := "/api/client/servers/{server}"
	f.handleClient("GET "+c, f.clientServer)
	f.handleClient("POST "+c+"/power", f.power)
	f.handleClient("GET "+c+"/resources", f.resources)
	f.handleClient("POST "+c+"/command", f.command)
	f.handleClient("GET "+c+"/backups", f.listBackups)
	f.handleClient("POST "+c+"/backups", f.createBackup)
	f.handleClient("GET "+c+"/backups/{backup}", f.getBackup)
	f.handleClient("DELETE "+c+"/backups/{backup}", f.deleteBackup)
}

// list answers items as a Fractal list with meta.pagination, honouring
// ?page and ?per_page (default 50).
func list[T any](w http.ResponseWriter, r *http.Request, object string, items []T) {
	writeJSON(w, http.StatusOK, paginate(r, object, items, 50, 0))
}

// paginate is one page of items as a Fractal list, honouring ?page and
// ?per_page (def when absent; capped at maxPer when maxPer > 0).
func paginate[T any](r *http.Request, object string, items []T, def, maxPer int) pt.List[T] {
	q := r.URL.Query()
	per := def
	if n, err := strconv.Atoi(q.Get("per_page")); err == nil && n > 0 {
		per = n
	}
	if maxPer > 0 {
		per = min(per, maxPer)
	}
	page := 1
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 0 {
		page = n
	}
	total := len(items)
	pages := max(1, (total+per-1)/per)
	var pg pt.Pagination
	pg.Total, pg.PerPage, pg.CurrentPage, pg.TotalPages = total, per, page, pages
	data := []pt.Item[T]{}
	if start := (page - 1) * per; start < total {
		for _, it := range items[start:min(start+per, total)] {
			data = append(data, pt.Item[T]{Object: object, Attributes: it})
		}
	}
	pg.Count = len(data)
	link := func(n int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(n))
		return "http://" + r.Host + r.URL.Path + "?" + v.Encode()
	}
	if page < pages {
		pg.Links.Next = link(page + 1)
	}
	if page > 1 {
		pg.Links.Previous = link(page - 1)
	}
	out := pt.List[T]{Object: "list", Data: data}
	out.Meta.Pagination = pg
	return out
}

// filter returns ?filter[name] and whether it was given (even empty).
func filter(r *http.Request, name string) (string, bool) {
	vs, ok := r.URL.Query()["filter["+name+"]"]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequestHttpException", "The JSON data passed in the request appears to be malformed.")
		return false
	}
	return true
}

// ---- users ----

func (f *Fake) listUsers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []pt.User{}
	for _, u := range f.users {
		ext := ""
		if u.ExternalID != nil {
			ext = *u.ExternalID
		}
		if partial(r, "email", u.Email) && partial(r, "uuid", u.UUID) && partial(r, "username", u.Username) &&
			partial(r, "external_id", ext) {
			out = append(out, *u)
		}
	}
	list(w, r, "user", out)
}

// partial applies ?filter[name] as the panel's Spatie QueryBuilder does by
// default: a case-insensitive substring match (LOWER(col) LIKE %value%), so
// filter[email]=bob@example.net also matches xbob@example.net. An absent
// filter matches everything.
func partial(r *http.Request, name, value string) bool {
	want, ok := filter(r, name)
	return !ok || strings.Contains(strings.ToLower(value), strings.ToLower(want))
}

func (f *Fake) getUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.userByID(pathID(r, "id"))
	if u == nil {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, item("user", u))
}

func (f *Fake) getUserByExternal(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.ExternalID != nil && *u.ExternalID == r.PathValue("ext") {
			writeJSON(w, http.StatusOK, item("user", u))
			return
		}
	}
	writeNotFound(w)
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9]([\w.-]+)[a-z0-9]$`)

// validateUser applies the User model's rules; self is the user being
// updated (nil on create) so its own email/username do not collide.
func (f *Fake) validateUser(req pt.UserRequest, self *pt.User) []fieldError {
	var errs []fieldError
	required := func(field, label, v string) bool {
		if strings.TrimSpace(v) == "" {
			errs = append(errs, fieldError{field, "required", "The " + label + " field is required."})
			return false
		}
		return true
	}
	if required("email", "email", req.Email) {
		if _, err := mail.ParseAddress(req.Email); err != nil {
			errs = append(errs, fieldError{"email", "email", "The email must be a valid email address."})
		}
	}
	if required("username", "username", req.Username) && !usernamePattern.MatchString(strings.ToLower(req.Username)) {
		errs = append(errs, fieldError{"username", "regex", "The username format is invalid."})
	}
	required("first_name", "first name", req.FirstName)
	required("last_name", "last name", req.LastName)
	for _, u := range f.users {
		if u == self {
			continue
		}
		if req.Email != "" && strings.EqualFold(u.Email, req.Email) {
			errs = append(errs, fieldError{"email", "unique", "The email has already been taken."})
		}
		if req.Username != "" && strings.EqualFold(u.Username, req.Username) {
			errs = append(errs, fieldError{"username", "unique", "The username has already been taken."})
		}
		if req.ExternalID != "" && u.ExternalID != nil && *u.ExternalID == req.ExternalID {
			errs = append(errs, fieldError{"external_id", "unique", "The external id has already been taken."})
		}
	}
	return errs
}

func (f *Fake) createUser(w http.ResponseWriter, r *http.Request) {
	var req pt.UserRequest
	if !decodeBody(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if errs := f.validateUser(req, nil); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	u := &pt.User{ID: f.nextUser, UUID: newUUID(), Username: strings.ToLower(req.Username), Email: req.Email,
		FirstName: req.FirstName, LastName: req.LastName, Language: "en", RootAdmin: req.RootAdmin,
		CreatedAt: f.stamp(), UpdatedAt: f.stamp()}
	if req.ExternalID != "" {
		ext := req.ExternalID
		u.ExternalID = &ext
	}
	if req.Language != "" {
		u.Language = req.Language
	}
	f.nextUser++
	f.users = append(f.users, u)
	body := item("user", u)
	body["meta"] = map[string]string{"resource": "http://" + r.Host + "/api/application/users/" + strconv.FormatInt(u.ID, 10)}
	writeJSON(w, http.StatusCreated, body)
}

func (f *Fake) updateUser(w http.ResponseWriter, r *http.Request) {
	var req pt.UserRequest
	if !decodeBody(w, r, &req) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.userByID(pathID(r, "id"))
	if u == nil {
		writeNotFound(w)
		return
	}
	if errs := f.validateUser(req, u); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	u.Email, u.Username, u.FirstName, u.LastName = req.Email, strings.ToLower(req.Username), req.FirstName, req.LastName
	if req.ExternalID != "" {
		ext := req.ExternalID
		u.ExternalID = &ext
	}
	if req.Language != "" {
		u.Language = req.Language
	}
	u.UpdatedAt = f.stamp()
	writeJSON(w, http.StatusOK, item("user", u))
}

func (f *Fake) deleteUser(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.userByID(pathID(r, "id"))
	if u == nil {
		writeNotFound(w)
		return
	}
	for _, s := range f.servers {
		if s.User == u.ID {
			writeError(w, http.StatusBadRequest, "DisplayException", "Cannot delete a user with active servers attached to their account.")
			return
		}
	}
	f.users = slices.DeleteFunc(f.users, func(x *pt.User) bool { return x == u })
	writeJSON(w, http.StatusNoContent, nil)
}

// ---- nodes, allocations, nests, eggs ----

func (f *Fake) listNodes(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []pt.Node{}
	for _, n := range f.nodes {
		out = append(out, f.nodeView(n))
	}
	list(w, r, "node", out)
}

func (f *Fake) getNode(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodeByID(pathID(r, "id"))
	if n == nil {
		writeNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, item("node", f.nodeView(n)))
}

func (f *Fake) deployableNodes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var errs []fieldError
	memory, err := strconv.ParseInt(q.Get("memory"), 10, 64)
	if err != nil || memory < 0 {
		errs = append(errs, fieldError{"memory", "required", "The memory field is required."})
	}
	disk, err := strconv.ParseInt(q.Get("disk"), 10, 64)
	if err != nil || disk < 0 {
		errs = append(errs, fieldError{"disk", "required", "The disk field is required."})
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	var locations []int64
	for _, v := range q["location_ids[]"] {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			locations = append(locations, n)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []pt.Node{}
	for _, n := range f.nodes {
		if (len(locations) == 0 || slices.Contains(locations, n.LocationID)) && !n.MaintenanceMode && f.fits(n, memory, disk) {
			out = append(out, f.nodeView(n))
		}
	}
	list(w, r, "node", out)
}

func (f *Fake) listAllocations(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.nodeByID(pathID(r, "id"))
	if n == nil {
		writeNotFound(w)
		return
	}
	out := []pt.Allocation{}
	for _, a := range f.allocations {
		if a.node != n.ID {
			continue
		}
		if v, ok := filter(r, "server_id"); ok {
			// An empty filter selects unassigned allocations.
			if v == "" && a.serverID != 0 || v != "" && strconv.FormatInt(a.serverID, 10) != v {
				continue
			}
		}
		if v, ok := filter(r, "ip"); ok && a.IP != v {
			continue
		}
		if v, ok := filter(r, "port"); ok && strconv.Itoa(a.Port) != v {
			continue
		}
		out = append(out, a.view())
	}
	list(w, r, "allocation", out)
}

func (f *Fake) listNests(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []pt.Nest{}
	for _, n := range f.nests {
		out = append(out, *n)
	}
	list(w, r, "nest", out)
}

func (f *Fake) listEggs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nest := pathID(r, "nest")
	if !slices.ContainsFunc(f.nests, func(n *pt.Nest) bool { return n.ID == nest }) {
		writeNotFound(w)
		return
	}
	out := []pt.Egg{}
	for _, e := range f.eggs {
		if e.Nest == nest {
			out = append(out, e.view(false))
		}
	}
	list(w, r, "egg", out)
}

func (f *Fake) getEgg(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.eggByID(pathID(r, "egg"))
	if e == nil || e.Nest != pathID(r, "nest") {
		writeNotFound(w)
		return
	}
	withVars := slices.Contains(strings.Split(r.URL.Query().Get("include"), ","), "variables")
	writeJSON(w, http.StatusOK, item("egg", e.view(withVars)))
}
