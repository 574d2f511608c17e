package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
)

// Customer role sets for Route.Members: the columns of the role × route
// matrix in docs/api.md. Staff columns are Route.StaffRole: support reads
// customers' accounts, changes need admin or above.
var (
	// anyMember is every role: reads of the account.
	anyMember = []string{accounts.RoleOwner, accounts.RoleAdmin, accounts.RoleBilling, accounts.RoleTechnical, accounts.RoleReadOnly}
	// managers change the account itself and end its services.
	managers = []string{accounts.RoleOwner, accounts.RoleAdmin}
	// billers order, pay, top up and change what the account is billed.
	billers = []string{accounts.RoleOwner, accounts.RoleAdmin, accounts.RoleBilling}
	// operators operate services: power, sign-in, automation.
	operators = []string{accounts.RoleOwner, accounts.RoleAdmin, accounts.RoleTechnical}
)

// accountRoute reports whether the route acts on the account named in its
// path.
func accountRoute(rt Route) bool { return strings.Contains(rt.Path, "{account_id}") }

type accessKey struct{}

// AccountFrom returns the caller's access to the path's account as the
// route table admitted it (nil outside routes with {account_id}). Staff is
// true when the caller acts as staff rather than as a member.
func AccountFrom(ctx context.Context) *accounts.Access {
	a, _ := ctx.Value(accessKey{}).(*accounts.Access)
	return a
}

// accountOf is the id of the account the route table admitted the caller
// to; "" (which names no account) outside account routes.
func accountOf(r *http.Request) string {
	if a := AccountFrom(r.Context()); a != nil {
		return a.AccountID
	}
	return ""
}

// admitAccount resolves the path's account for the caller and applies the
// route's row of the role matrix, before the handler and before any stored
// response is replayed: an account the caller may not see is 404 (BOLA),
// a role the row does not list is 403 role_forbidden. A staff user who is
// not admitted as a member acts as staff, needs the route's StaffRole, and
// is audited as staff.
func (s *Server) admitAccount(rt Route, next HandlerFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := PrincipalFrom(r.Context())
		a, err := s.Accounts.AccountAccess(r.Context(), p, mux.Vars(r)["account_id"])
		if err != nil {
			return err
		}
		ctx := r.Context()
		if rt.Auth == User {
			member := a.Role != "" && slices.Contains(rt.Members, a.Role)
			staff := !member && rt.StaffRole != "" && p.IsStaff(rt.StaffRole)
			if !member && !staff {
				s.auditDenied(r, "role_forbidden")
				return roleForbidden(rt, a, p)
			}
			if staff {
				a = &accounts.Access{AccountID: a.AccountID, Role: a.Role, Staff: true}
				meta := audit.MetaFrom(ctx)
				meta.ActorType = audit.ActorStaff
				ctx = audit.WithMeta(ctx, meta)
			}
		}
		return next(w, r.WithContext(context.WithValue(ctx, accessKey{}, a)))
	}
}

func roleForbidden(rt Route, a *accounts.Access, p *accounts.Principal) error {
	e := apperr.New(apperr.Forbidden, "your role in this account does not allow this")
	switch {
	case a.Role != "":
		e = apperr.New(apperr.Forbidden, "the %s role in this account does not allow this", a.Role)
	case p.StaffRole != "" && rt.StaffRole != "":
		e = apperr.New(apperr.Forbidden, "staff need the %s role or above for this on a customer's account", rt.StaffRole)
	case p.StaffRole != "":
		e = apperr.New(apperr.Forbidden, "staff cannot do this on a customer's account")
	}
	return e.WithReason("role_forbidden")
}
