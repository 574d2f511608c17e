package httpapi

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
)

// registerStaffAdmin adds the staff directory's changes: inviting staff,
// changing and removing staff roles (owners), deleting a user and turning
// off another user's two-factor authentication (admins, down the
// hierarchy). Each is a high-risk action (docs/approvals.md).
func (s *Server) registerStaffAdmin() {
	admin, owner := accounts.StaffAdmin, accounts.StaffOwner
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/staff", Auth: Staff, StaffRole: owner, Scope: "admin:write", Idempotent: true,
		HighRisk: &HighRisk{Action: "staff.create", TargetType: "user"}, Handler: s.inviteStaff})
	s.Handle(Route{Method: "PATCH", Path: "/api/v1/admin/staff/{id}", Auth: Staff, StaffRole: owner, Scope: "admin:write",
		HighRisk: &HighRisk{Action: "staff.role_change", TargetType: "user", TargetVar: "id"}, Handler: s.changeStaffRole})
	s.Handle(Route{Method: "DELETE", Path: "/api/v1/admin/staff/{id}", Auth: Staff, StaffRole: owner, Scope: "admin:write",
		HighRisk: &HighRisk{Action: "staff.delete", TargetType: "user", TargetVar: "id"}, Handler: s.removeStaff})
	s.Handle(Route{Method: "DELETE", Path: "/api/v1/admin/users/{id}", Auth: Staff, StaffRole: admin, Scope: "admin:write",
		HighRisk: &HighRisk{Action: "users.delete", TargetType: "user", TargetVar: "id"}, Handler: s.deleteUser})
	s.Handle(Route{Method: "POST", Path: "/api/v1/admin/users/{id}/2fa/disable", Auth: Staff, StaffRole: admin, Scope: "admin:write",
		HighRisk: &HighRisk{Action: "users.2fa_disable", TargetType: "user", TargetVar: "id"}, Handler: s.disableUserTOTP})
}

// staffInvite is the body of POST /api/v1/admin/staff.
type staffInvite struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// staffRoleChange is the body of PATCH /api/v1/admin/staff/{id}.
type staffRoleChange struct {
	Role string `json:"role"`
}

func staffUserView(u *accounts.User) StaffUserView {
	return StaffUserView{UserView: userView(u), Disabled: u.DisabledAt != nil, DisabledAt: u.DisabledAt, Deleted: u.DeletedAt != nil}
}

func (s *Server) inviteStaff(w http.ResponseWriter, r *http.Request) error {
	var in staffInvite
	if err := Decode(r, &in); err != nil {
		return err
	}
	u, err := s.Accounts.InviteStaff(r.Context(), PrincipalFrom(r.Context()), in.Email, in.Role)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, staffUserView(u))
}

func (s *Server) changeStaffRole(w http.ResponseWriter, r *http.Request) error {
	var in staffRoleChange
	if err := Decode(r, &in); err != nil {
		return err
	}
	if in.Role == "" {
		return apperr.Field("role", "is required; DELETE /api/v1/admin/staff/{id} removes the staff role")
	}
	u, err := s.Accounts.SetStaffRole(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"], in.Role)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, staffUserView(u))
}

func (s *Server) removeStaff(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Accounts.SetStaffRole(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"], ""); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.DeleteUser(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) disableUserTOTP(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.DisableTOTPFor(r.Context(), PrincipalFrom(r.Context()), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
