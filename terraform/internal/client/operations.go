package client

import (
	"fmt"
	"net/url"
	"strings"
)

// Operation is one operation of the API document: its operationId, method
// and path template.
type Operation struct {
	ID     string
	Method string
	Path   string
}

func (o Operation) expand(params []string) (string, error) {
	var b strings.Builder
	rest := o.Path
	for _, p := range params {
		i := strings.IndexByte(rest, '{')
		j := strings.IndexByte(rest, '}')
		if i < 0 || j < i {
			return "", fmt.Errorf("%s: too many path parameters", o.ID)
		}
		if p == "" {
			return "", fmt.Errorf("%s: empty path parameter %s", o.ID, rest[i:j+1])
		}
		b.WriteString(rest[:i])
		b.WriteString(url.PathEscape(p))
		rest = rest[j+1:]
	}
	if strings.IndexByte(rest, '{') >= 0 {
		return "", fmt.Errorf("%s: missing path parameters in %s", o.ID, o.Path)
	}
	b.WriteString(rest)
	return b.String(), nil
}

const acct = "/api/v1/accounts/{account_id}"

// The operations the provider calls, by operationId.
var (
	OpGetCurrentUser = Operation{"getCurrentUser", "GET", "/api/v1/me"}
	OpListAccounts   = Operation{"listAccounts", "GET", "/api/v1/accounts"}
	OpGetAccount     = Operation{"getAccount", "GET", acct}

	OpListPlans = Operation{"listPlans", "GET", "/api/v1/plans"}
	OpGetPlan   = Operation{"getPlan", "GET", "/api/v1/plans/{plan}"}

	OpCreateProject   = Operation{"createProject", "POST", acct + "/projects"}
	OpListProjects    = Operation{"listProjects", "GET", acct + "/projects"}
	OpGetProject      = Operation{"getProject", "GET", acct + "/projects/{project_id}"}
	OpUpdateProject   = Operation{"updateProject", "PATCH", acct + "/projects/{project_id}"}
	OpArchiveProject  = Operation{"archiveProject", "POST", acct + "/projects/{project_id}/archive"}
	OpRestoreProject  = Operation{"restoreProject", "POST", acct + "/projects/{project_id}/restore"}
	OpMoveIntoProject = Operation{"moveServicesIntoProject", "POST", acct + "/projects/{project_id}/services"}
	OpRemoveFromProj  = Operation{"removeServicesFromProject", "POST", acct + "/projects/{project_id}/services/remove"}

	OpOrderService      = Operation{"orderService", "POST", acct + "/orders"}
	OpListServices      = Operation{"listServices", "GET", acct + "/services"}
	OpGetService        = Operation{"getService", "GET", acct + "/services/{service_id}"}
	OpCancelService     = Operation{"cancelService", "POST", acct + "/services/{service_id}/cancel"}
	OpChangeServicePlan = Operation{"changeServicePlan", "POST", acct + "/services/{service_id}/change-plan"}

	OpCreateDependency = Operation{"createServiceDependency", "POST", acct + "/dependencies"}
	OpGetDependency    = Operation{"getServiceDependency", "GET", acct + "/dependencies/{dependency_id}"}
	OpUpdateDependency = Operation{"updateServiceDependency", "PATCH", acct + "/dependencies/{dependency_id}"}
	OpDeleteDependency = Operation{"deleteServiceDependency", "DELETE", acct + "/dependencies/{dependency_id}"}

	OpCreateTask = Operation{"createTask", "POST", acct + "/tasks"}
	OpGetTask    = Operation{"getTask", "GET", acct + "/tasks/{task_id}"}
	OpUpdateTask = Operation{"updateTask", "PATCH", acct + "/tasks/{task_id}"}
	OpDeleteTask = Operation{"deleteTask", "DELETE", acct + "/tasks/{task_id}"}

	OpCreateMaintenanceWindow  = Operation{"createMaintenanceWindow", "POST", acct + "/maintenance-windows"}
	OpGetMaintenanceWindow     = Operation{"getMaintenanceWindow", "GET", acct + "/maintenance-windows/{window_id}"}
	OpReplaceMaintenanceWindow = Operation{"replaceMaintenanceWindow", "PUT", acct + "/maintenance-windows/{window_id}"}
	OpDeleteMaintenanceWindow  = Operation{"deleteMaintenanceWindow", "DELETE", acct + "/maintenance-windows/{window_id}"}

	OpGetServiceRecovery    = Operation{"getServiceRecovery", "GET", acct + "/services/{service_id}/recovery"}
	OpSetServiceRecovery    = Operation{"setServiceRecovery", "PUT", acct + "/services/{service_id}/recovery"}
	OpDeleteServiceRecovery = Operation{"deleteServiceRecovery", "DELETE", acct + "/services/{service_id}/recovery"}

	OpGetBudget    = Operation{"getBudget", "GET", acct + "/budget"}
	OpSetBudget    = Operation{"setBudget", "PUT", acct + "/budget"}
	OpDeleteBudget = Operation{"deleteBudget", "DELETE", acct + "/budget"}
)

// Operations lists every operation the client calls.
var Operations = []Operation{
	OpGetCurrentUser, OpListAccounts, OpGetAccount,
	OpListPlans, OpGetPlan,
	OpCreateProject, OpListProjects, OpGetProject, OpUpdateProject, OpArchiveProject, OpRestoreProject,
	OpMoveIntoProject, OpRemoveFromProj,
	OpOrderService, OpListServices, OpGetService, OpCancelService, OpChangeServicePlan,
	OpCreateDependency, OpGetDependency, OpUpdateDependency, OpDeleteDependency,
	OpCreateTask, OpGetTask, OpUpdateTask, OpDeleteTask,
	OpCreateMaintenanceWindow, OpGetMaintenanceWindow, OpReplaceMaintenanceWindow, OpDeleteMaintenanceWindow,
	OpGetServiceRecovery, OpSetServiceRecovery, OpDeleteServiceRecovery,
	OpGetBudget, OpSetBudget, OpDeleteBudget,
}
