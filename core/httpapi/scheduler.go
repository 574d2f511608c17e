package httpapi

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/projects"
	"github.com/ezscale/platform/core/scheduler"
)

// SchedulerAPI is customer automation: automated tasks and their runs,
// maintenance windows, scheduled plan changes and auto-recovery, all under
// the account (another account's objects are 404).
type SchedulerAPI struct {
	Scheduler *scheduler.Service
	// Projects filters the tasks list by project (?project_id=); nil:
	// the filter is ignored.
	Projects *projects.Service
}

const acct = "/api/v1/accounts/{account_id}"

// Routes registers the scheduler's routes.
func (m *SchedulerAPI) Routes(s *Server) {
	read := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "GET", Path: acct + path, Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: h})
	}
	write := func(method, path string, idem bool, h HandlerFunc) {
		s.Handle(Route{Method: method, Path: acct + path, Auth: User, Members: operators, StaffRole: accounts.StaffAdmin, Scope: "services:write", Idempotent: idem, Handler: h})
	}
	write("POST", "/tasks", true, m.createTask())
	read("/tasks", m.listTasks())
	s.Handle(Route{Method: "POST", Path: acct + "/tasks/preview", Auth: User, Members: anyMember, StaffRole: accounts.StaffSupport, Scope: "services:read", Handler: m.preview()})
	read("/tasks/{task_id}", m.getTask())
	write("PATCH", "/tasks/{task_id}", false, m.updateTask())
	write("DELETE", "/tasks/{task_id}", false, m.deleteTask())
	read("/tasks/{task_id}/runs", m.listRuns())
	read("/tasks/{task_id}/runs/{run_id}", m.getRun())

	write("POST", "/maintenance-windows", true, m.createWindow())
	read("/maintenance-windows", m.listWindows())
	read("/maintenance-windows/{window_id}", m.getWindow())
	write("PUT", "/maintenance-windows/{window_id}", false, m.updateWindow())
	write("DELETE", "/maintenance-windows/{window_id}", false, m.deleteWindow())

	write("POST", "/scheduled-changes", true, m.scheduleChange())
	read("/scheduled-changes", m.listChanges())
	read("/scheduled-changes/{change_id}", m.getChange())
	write("POST", "/scheduled-changes/{change_id}/cancel", false, m.cancelChange())

	read("/services/{service_id}/task-types", m.taskTypes())
	read("/services/{service_id}/recovery", m.getRecovery())
	write("PUT", "/services/{service_id}/recovery", false, m.setRecovery())
	write("DELETE", "/services/{service_id}/recovery", false, m.deleteRecovery())
	read("/services/{service_id}/recovery/attempts", m.listAttempts())
}

type handlerWith func(ctx context.Context, w http.ResponseWriter, r *http.Request, accountID string) error

// with hands the handler the account the route table admitted the caller
// to.
func with(h handlerWith) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h(r.Context(), w, r, accountOf(r))
	}
}

func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (m *SchedulerAPI) createTask() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in scheduler.TaskInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		t, err := m.Scheduler.CreateTask(ctx, account, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, t)
	})
}

func (m *SchedulerAPI) listTasks() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		limit, after, err := PageParams(r)
		if err != nil {
			return err
		}
		// ?project_id=ID: the tasks of the project's services; none: of
		// services in no project.
		var among *scheduler.ServiceSet
		if pid := r.URL.Query().Get("project_id"); pid != "" && m.Projects != nil {
			ids, exclude, err := m.Projects.ServiceScope(ctx, actorOf(r), pid)
			if err != nil {
				return err
			}
			among = &scheduler.ServiceSet{IDs: ids, Exclude: exclude}
		}
		ts, err := m.Scheduler.TasksAmong(ctx, account, r.URL.Query().Get("service_id"), among, after, limit+1)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, NewList(ts, limit, func(t *scheduler.Task) string { return t.ID }))
	})
}

type previewInput struct {
	Cron     string `json:"cron"`
	TimeZone string `json:"time_zone"`
}

func (m *SchedulerAPI) preview() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in previewInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		if in.TimeZone == "" {
			in.TimeZone = "UTC"
		}
		p, err := m.Scheduler.PreviewSchedule(ctx, account, in.Cron, in.TimeZone)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, p)
	})
}

func (m *SchedulerAPI) getTask() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		t, err := m.Scheduler.Task(ctx, account, mux.Vars(r)["task_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, t)
	})
}

func (m *SchedulerAPI) updateTask() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var p scheduler.TaskPatch
		if err := Decode(r, &p); err != nil {
			return err
		}
		t, err := m.Scheduler.UpdateTask(ctx, account, mux.Vars(r)["task_id"], p)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, t)
	})
}

func (m *SchedulerAPI) deleteTask() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		if err := m.Scheduler.DeleteTask(ctx, account, mux.Vars(r)["task_id"]); err != nil {
			return err
		}
		return noContent(w)
	})
}

func (m *SchedulerAPI) listRuns() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		limit, before, err := PageParams(r)
		if err != nil {
			return err
		}
		rs, err := m.Scheduler.Runs(ctx, account, mux.Vars(r)["task_id"], before, limit+1)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, NewList(rs, limit, func(x *scheduler.Run) string { return x.ID }))
	})
}

func (m *SchedulerAPI) getRun() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		run, err := m.Scheduler.Run(ctx, account, mux.Vars(r)["task_id"], mux.Vars(r)["run_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, run)
	})
}

func (m *SchedulerAPI) createWindow() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in scheduler.WindowInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		win, err := m.Scheduler.CreateWindow(ctx, account, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, win)
	})
}

func (m *SchedulerAPI) listWindows() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		ws, err := m.Scheduler.Windows(ctx, account)
		if err != nil {
			return err
		}
		if ws == nil {
			ws = []*scheduler.Window{}
		}
		return writeJSON(w, http.StatusOK, List[*scheduler.Window]{Data: ws})
	})
}

func (m *SchedulerAPI) getWindow() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		win, err := m.Scheduler.Window(ctx, account, mux.Vars(r)["window_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, win)
	})
}

func (m *SchedulerAPI) updateWindow() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in scheduler.WindowInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		win, err := m.Scheduler.UpdateWindow(ctx, account, mux.Vars(r)["window_id"], in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, win)
	})
}

func (m *SchedulerAPI) deleteWindow() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		if err := m.Scheduler.DeleteWindow(ctx, account, mux.Vars(r)["window_id"]); err != nil {
			return err
		}
		return noContent(w)
	})
}

func (m *SchedulerAPI) scheduleChange() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in scheduler.PlanChangeInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		c, err := m.Scheduler.SchedulePlanChange(ctx, account, in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, c)
	})
}

func (m *SchedulerAPI) listChanges() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		limit, before, err := PageParams(r)
		if err != nil {
			return err
		}
		cs, err := m.Scheduler.PlanChanges(ctx, account, r.URL.Query().Get("service_id"), before, limit+1)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, NewList(cs, limit, func(c *scheduler.PlanChange) string { return c.ID }))
	})
}

func (m *SchedulerAPI) getChange() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		c, err := m.Scheduler.PlanChange(ctx, account, mux.Vars(r)["change_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	})
}

type cancelInput struct {
	Reason string `json:"reason"`
}

func (m *SchedulerAPI) cancelChange() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in cancelInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		c, err := m.Scheduler.CancelPlanChange(ctx, account, mux.Vars(r)["change_id"], in.Reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	})
}

// taskTypes lists every task type and whether the service's provisioner
// supports it. The list is fixed and short: one page.
func (m *SchedulerAPI) taskTypes() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		tt, err := m.Scheduler.TaskTypes(ctx, account, mux.Vars(r)["service_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, List[scheduler.TaskType]{Data: tt})
	})
}

func (m *SchedulerAPI) getRecovery() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		c, err := m.Scheduler.Recovery(ctx, account, mux.Vars(r)["service_id"])
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	})
}

func (m *SchedulerAPI) setRecovery() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		var in scheduler.RecoveryInput
		if err := Decode(r, &in); err != nil {
			return err
		}
		c, err := m.Scheduler.SetRecovery(ctx, account, mux.Vars(r)["service_id"], in)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	})
}

func (m *SchedulerAPI) deleteRecovery() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		if err := m.Scheduler.DeleteRecovery(ctx, account, mux.Vars(r)["service_id"]); err != nil {
			return err
		}
		return noContent(w)
	})
}

func (m *SchedulerAPI) listAttempts() HandlerFunc {
	return with(func(ctx context.Context, w http.ResponseWriter, r *http.Request, account string) error {
		limit, before, err := PageParams(r)
		if err != nil {
			return err
		}
		as, err := m.Scheduler.RecoveryAttempts(ctx, account, mux.Vars(r)["service_id"], before, limit+1)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, NewList(as, limit, func(a *scheduler.RecoveryAttempt) string { return a.ID }))
	})
}
