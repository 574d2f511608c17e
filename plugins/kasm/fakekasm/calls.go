package fakekasm

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ezscale/platform/plugins/kasm/kasmapi"
)

func (f *Fake) routes() {
	f.mux = http.NewServeMux()
	f.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Every developer API call is a POST.
		if r.Method != http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/public/") {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		writeError(w, http.StatusNotFound, "Not Found")
	})
	f.handle("create_user", PermUsersCreate, false, f.createUser)
	f.handle("get_user", PermUsersView, false, f.getUser)
	f.handle("update_user", PermUsersModify, false, f.updateUser)
	f.handle("delete_user", PermUsersDelete, false, f.deleteUser)
	f.handle("request_kasm", PermUser, true, f.requestKasm)
	f.handle("get_kasm_status", PermUser, true, f.kasmStatus)
	f.handle("destroy_kasm", PermUser, true, f.destroyKasm)
	f.handle("get_kasms", PermSessionsView, false, f.getKasms)
	f.handle("get_images", PermImagesView, false, f.getImages)
}

// user finds a user by id in either id form.
func (f *Fake) user(id string) *kasmapi.User {
	id = kasmapi.NormalizeID(id)
	for _, u := range f.users {
		if u.UserID == id {
			return u
		}
	}
	return nil
}

// kasm finds a session by id in either id form.
func (f *Fake) kasm(id string) *session {
	id = kasmapi.NormalizeID(id)
	for _, k := range f.kasms {
		if kasmapi.NormalizeID(k.KasmID) == id {
			return k
		}
	}
	return nil
}

func (f *Fake) settle(k *session) {
	if k.OperationalStatus == kasmapi.StatusStarting && !f.now().Before(k.runningAt) {
		k.OperationalStatus = kasmapi.StatusRunning
	}
}

func (f *Fake) createUser(w http.ResponseWriter, req request) {
	var target kasmapi.NewUser
	if raw, ok := req["target_user"]; !ok || json.Unmarshal(raw, &target) != nil {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "Invalid Request: target_user is required"})
		return
	}
	if strings.TrimSpace(target.Username) == "" {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "Username is required"})
		return
	}
	for _, u := range f.users {
		if strings.EqualFold(u.Username, target.Username) {
			writeJSON(w, http.StatusOK, map[string]string{"error_message": "Username already exists"})
			return
		}
	}
	u := &kasmapi.User{UserID: newID(), Username: target.Username, FirstName: target.FirstName, LastName: target.LastName,
		Phone: target.Phone, Organization: target.Organization, Realm: "local", Locked: target.Locked, Disabled: target.Disabled,
		Groups: []kasmapi.Group{{Name: "All Users", GroupID: allUsersGroup}}}
	f.users = append(f.users, u)
	f.passwords[u.UserID] = target.Password
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (f *Fake) getUser(w http.ResponseWriter, req request) {
	var target struct {
		UserID   string `json:"user_id"`
		Username string `json:"username"`
	}
	_ = json.Unmarshal(req["target_user"], &target)
	for _, u := range f.users {
		if target.UserID != "" && u.UserID == kasmapi.NormalizeID(target.UserID) ||
			target.UserID == "" && target.Username != "" && strings.EqualFold(u.Username, target.Username) {
			writeJSON(w, http.StatusOK, map[string]any{"user": u})
			return
		}
	}
	// An unknown user is an error, not an empty answer (classic builds).
	writeError(w, http.StatusBadRequest, kasmapi.MsgInvalidRequest)
}

func (f *Fake) updateUser(w http.ResponseWriter, req request) {
	var target struct {
		UserID   string  `json:"user_id"`
		Username string  `json:"username"`
		Password *string `json:"password"`
		Locked   *bool   `json:"locked"`
		Disabled *bool   `json:"disabled"`
	}
	_ = json.Unmarshal(req["target_user"], &target)
	if strings.TrimSpace(target.Username) == "" {
		writeError(w, http.StatusBadRequest, kasmapi.MsgNoUsername)
		return
	}
	u := f.user(target.UserID)
	if u == nil {
		// [inferred] answered like get_user's unknown user.
		writeError(w, http.StatusBadRequest, kasmapi.MsgInvalidRequest)
		return
	}
	for _, other := range f.users {
		if other != u && strings.EqualFold(other.Username, target.Username) {
			writeJSON(w, http.StatusOK, map[string]string{"error_message": "Username already exists"})
			return
		}
	}
	u.Username = target.Username
	if target.Locked != nil {
		u.Locked = *target.Locked
	}
	if target.Disabled != nil {
		u.Disabled = *target.Disabled
	}
	if target.Password != nil {
		f.passwords[u.UserID] = *target.Password
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u})
}

func (f *Fake) deleteUser(w http.ResponseWriter, req request) {
	var target struct {
		UserID string `json:"user_id"`
	}
	_ = json.Unmarshal(req["target_user"], &target)
	var force bool
	_ = json.Unmarshal(req["force"], &force)
	u := f.user(target.UserID)
	if u == nil {
		writeError(w, http.StatusBadRequest, "Unknown user ("+target.UserID+")")
		return
	}
	has := slices.ContainsFunc(f.kasms, func(k *session) bool { return k.UserID == u.UserID })
	if has && !force {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "Unable to delete user: the user has active sessions. Use force to delete them."})
		return
	}
	f.kasms = slices.DeleteFunc(f.kasms, func(k *session) bool { return k.UserID == u.UserID })
	f.users = slices.DeleteFunc(f.users, func(x *kasmapi.User) bool { return x == u })
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (f *Fake) requestKasm(w http.ResponseWriter, req request) {
	userID, ok := req.str("user_id")
	if !ok {
		// Without a user Kasm would create an anonymous one; the platform
		// never relies on that.
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "user_id is required"})
		return
	}
	u := f.user(userID)
	if u.Disabled || u.Locked {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "User is disabled or locked"})
		return
	}
	imageID, ok := req.str("image_id")
	if !ok {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": kasmapi.MsgNoImage})
		return
	}
	var img *kasmapi.Image
	for i := range f.images {
		if f.images[i].ImageID == kasmapi.NormalizeID(imageID) {
			img = &f.images[i]
		}
	}
	if img == nil || !img.Enabled {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "Requested image is not available"})
		return
	}
	now := f.now()
	k := &session{runningAt: now.Add(f.startDuration), sessionToken: hyphenate(newID())}
	k.KasmID = hyphenate(newID())
	k.UserID, k.Username = u.UserID, u.Username
	k.ImageID = img.ImageID
	k.Image = kasmapi.ImageRef{ImageID: img.ImageID, Name: img.Name, ImageSrc: img.ImageSrc, FriendlyName: img.FriendlyName}
	k.OperationalStatus = kasmapi.StatusStarting
	k.ContainerIP, k.ContainerID = "172.18.0.4", randomHex(32)
	k.Host, k.Port, k.Hostname, k.ServerID = "10.0.0.120", 443, "agent-1", newID()
	k.StartDate, k.KeepaliveDate = f.stamp(now), f.stamp(now)
	k.ExpirationDate = f.stamp(now.Add(time.Hour))
	k.Cores, k.Memory = img.Cores, img.Memory
	k.PortMap = map[string]any{"vnc": map[string]any{"path": "desktop/" + k.KasmID + "/vnc", "port": 443}}
	k.ClientSettings = map[string]any{}
	if raw, ok := req["client_settings"]; ok {
		_ = json.Unmarshal(raw, &k.ClientSettings)
	}
	f.kasms = append(f.kasms, k)
	writeJSON(w, http.StatusOK, kasmapi.NewKasm{KasmID: k.KasmID, Status: kasmapi.StatusStarting, UserID: u.UserID,
		Username: u.Username, SessionToken: k.sessionToken, KasmURL: kasmURL(k, u.UserID)})
}

func kasmURL(k *session, userID string) string {
	return "/#/connect/kasm/" + k.KasmID + "/" + userID + "/" + k.sessionToken
}

func (f *Fake) kasmStatus(w http.ResponseWriter, req request) {
	id, _ := req.str("kasm_id")
	k := f.kasm(id)
	f.settle(k)
	now := f.stamp(f.now())
	if kasmapi.IsPending(k.OperationalStatus) {
		// Kasm says "starting" twice: as the status and as an error.
		writeJSON(w, http.StatusOK, kasmapi.KasmStatus{CurrentTime: now, OperationalStatus: k.OperationalStatus,
			OperationalMessage: "Creating session", OperationalProgress: 50, ErrorMessage: kasmapi.MsgSessionIsStarting})
		return
	}
	view := k.Kasm
	writeJSON(w, http.StatusOK, kasmapi.KasmStatus{CurrentTime: now, KasmURL: kasmURL(k, k.UserID), Kasm: &view})
}

func (f *Fake) destroyKasm(w http.ResponseWriter, req request) {
	id, _ := req.str("kasm_id")
	userID, _ := req.str("user_id")
	k := f.kasm(id)
	if k.UserID != kasmapi.NormalizeID(userID) {
		writeJSON(w, http.StatusOK, map[string]string{"error_message": "The session does not belong to this user"})
		return
	}
	f.kasms = slices.DeleteFunc(f.kasms, func(x *session) bool { return x == k })
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (f *Fake) getKasms(w http.ResponseWriter, _ request) {
	out := []kasmapi.Kasm{}
	for _, k := range f.kasms {
		f.settle(k)
		out = append(out, k.Kasm)
	}
	writeJSON(w, http.StatusOK, map[string]any{"current_time": f.stamp(f.now()), "kasms": out})
}

func (f *Fake) getImages(w http.ResponseWriter, _ request) {
	writeJSON(w, http.StatusOK, map[string]any{"images": f.images})
}
