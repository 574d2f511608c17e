package projects

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// Limits of a project's fields and of one request.
const (
	MaxNameLen        = 100
	MaxDescriptionLen = 1000
	// MaxMove is how many services one request moves.
	MaxMove = 500
)

var (
	colourPattern = regexp.MustCompile(`^#[0-9a-f]{6}$`)
	iconPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
)

// ProjectInput creates a project.
type ProjectInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Colour is "#rrggbb" (any case) or empty.
	Colour string `json:"colour"`
	// Icon names an icon of the console's set (lower-case letters, digits
	// and dashes) or is empty.
	Icon string `json:"icon"`
}

// ProjectPatch changes the fields it sets.
type ProjectPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Colour      *string `json:"colour"`
	Icon        *string `json:"icon"`
}

func checkName(errs *apperr.Fields, name string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		errs.Add("name", "is required")
	case n > MaxNameLen:
		errs.Add("name", "must be at most %d characters", MaxNameLen)
	case strings.ContainsFunc(name, unicode.IsControl):
		errs.Add("name", "must not contain control characters")
	}
	return name
}

func checkDescription(errs *apperr.Fields, d string) {
	if utf8.RuneCountInString(d) > MaxDescriptionLen {
		errs.Add("description", "must be at most %d characters", MaxDescriptionLen)
	}
}

func checkColour(errs *apperr.Fields, c string) string {
	c = strings.ToLower(c)
	if c != "" && !colourPattern.MatchString(c) {
		errs.Add("colour", "must be a colour as #rrggbb, or empty")
	}
	return c
}

func checkIcon(errs *apperr.Fields, icon string) {
	if icon != "" && !iconPattern.MatchString(icon) {
		errs.Add("icon", "must be an icon name (1-32 lower-case letters, digits and dashes), or empty")
	}
}

func nameTaken() error {
	return &apperr.Error{Code: apperr.Conflict, Reason: "project_name_taken", Message: "the account already has a project of that name",
		Fields: []apperr.FieldError{{Field: "name", Message: "is already the name of a project of this account (archived ones included)"}}}
}

// CreateProject creates a project in the actor's account. Errors: Invalid
// (naming the field), Conflict project_name_taken, Conflict
// project_limit.
func (s *Service) CreateProject(ctx context.Context, a Actor, in ProjectInput) (*Project, error) {
	var errs apperr.Fields
	name := checkName(&errs, in.Name)
	checkDescription(&errs, in.Description)
	colour := checkColour(&errs, in.Colour)
	checkIcon(&errs, in.Icon)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	p := &Project{ID: newID(), AccountID: a.AccountID, Name: name, NameKey: strings.ToLower(name), Description: in.Description,
		Colour: colour, Icon: in.Icon, CreatedAt: now, UpdatedAt: now}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*Project)(nil)).Where("account_id = ?", a.AccountID).Count(ctx)
		if err != nil {
			return fmt.Errorf("projects: counting projects: %w", err)
		}
		if n >= int64(s.opts.MaxProjects) {
			return apperr.New(apperr.Conflict, "the account has %d projects, the most it may have", n).WithReason("project_limit")
		}
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return nameTaken()
			}
			return fmt.Errorf("projects: inserting project: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "project.create", AccountID: a.AccountID, TargetType: "project", TargetID: p.ID,
			Changes: map[string]any{"name": p.Name, "colour": p.Colour, "icon": p.Icon}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// Project returns a project of the actor's account. Errors: NotFound.
func (s *Service) Project(ctx context.Context, a Actor, id string) (*Project, error) {
	return s.authorize(ctx, s.db.Conn(ctx), a, id, Read)
}

// ProjectFilter selects an account's projects.
type ProjectFilter struct {
	// Archived: "" or "false" the active ones, "true" the archived ones,
	// "all" both.
	Archived string
	After    string // id of the last project of the previous page
	Limit    int
}

// Projects lists the account's projects, oldest first. Errors: Invalid
// (archived).
func (s *Service) Projects(ctx context.Context, a Actor, f ProjectFilter) ([]Project, error) {
	q := s.db.Conn(ctx).NewSelect().Model((*Project)(nil)).Where("account_id = ?", a.AccountID).Order("id").Limit(int64(f.Limit))
	switch f.Archived {
	case "", "false":
		q = q.Where("archived_at IS NULL")
	case "true":
		q = q.Where("archived_at IS NOT NULL")
	case "all":
	default:
		return nil, apperr.Field("archived", "must be true, false or all")
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	var out []Project
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("projects: listing projects: %w", err)
	}
	return out, nil
}

// UpdateProject renames or edits a project (archived ones too). Errors:
// NotFound, Invalid, Conflict project_name_taken.
func (s *Service) UpdateProject(ctx context.Context, a Actor, id string, in ProjectPatch) (*Project, error) {
	var errs apperr.Fields
	var name, colour string
	if in.Name != nil {
		name = checkName(&errs, *in.Name)
	}
	if in.Description != nil {
		checkDescription(&errs, *in.Description)
	}
	if in.Colour != nil {
		colour = checkColour(&errs, *in.Colour)
	}
	if in.Icon != nil {
		checkIcon(&errs, *in.Icon)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var p *Project
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = s.authorize(ctx, tx, a, id, Write); err != nil {
			return err
		}
		changes := map[string]any{}
		if in.Name != nil && name != p.Name {
			changes["name"] = map[string]string{"from": p.Name, "to": name}
			p.Name, p.NameKey = name, strings.ToLower(name)
		}
		if in.Description != nil && *in.Description != p.Description {
			changes["description"] = true
			p.Description = *in.Description
		}
		if in.Colour != nil && colour != p.Colour {
			changes["colour"] = colour
			p.Colour = colour
		}
		if in.Icon != nil && *in.Icon != p.Icon {
			changes["icon"] = *in.Icon
			p.Icon = *in.Icon
		}
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(p).WherePK().Column("name", "name_key", "description", "colour", "icon", "updated_at").Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return nameTaken()
			}
			return fmt.Errorf("projects: updating project %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "project.update", AccountID: a.AccountID, TargetType: "project", TargetID: p.ID, Changes: changes})
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ArchiveProject archives a project that holds no live service (ended
// services may stay in it). Archiving an archived project changes
// nothing. Errors: NotFound, Conflict project_not_empty naming its live
// services.
func (s *Service) ArchiveProject(ctx context.Context, a Actor, id string) (*Project, error) {
	var p *Project
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = s.authorize(ctx, tx, a, id, Write); err != nil {
			return err
		}
		if p.Archived() {
			return nil
		}
		ids, err := projectServiceIDs(ctx, tx, a.AccountID, id)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			infos, err := s.services.AccountServices(ctx, a.AccountID, ids)
			if err != nil {
				return err
			}
			var live []apperr.FieldError
			for _, in := range infos {
				if in.Live() {
					live = append(live, apperr.FieldError{Field: fmt.Sprintf("services[%d]", len(live)), Message: fmt.Sprintf("%s (%s) is %s", in.name(), in.ID, in.Status)})
				}
			}
			if len(live) > 0 {
				return &apperr.Error{Code: apperr.Conflict, Reason: "project_not_empty", Fields: live,
					Message: fmt.Sprintf("the project holds %d services that have not ended; move them out before archiving it", len(live))}
			}
		}
		now := s.now()
		p.ArchivedAt, p.UpdatedAt = &now, now
		if _, err := tx.NewUpdate().Model(p).WherePK().Column("archived_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("projects: archiving project %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "project.archive", AccountID: a.AccountID, TargetType: "project", TargetID: p.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// RestoreProject takes a project out of the archive. Errors: NotFound.
func (s *Service) RestoreProject(ctx context.Context, a Actor, id string) (*Project, error) {
	var p *Project
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = s.authorize(ctx, tx, a, id, Write); err != nil {
			return err
		}
		if !p.Archived() {
			return nil
		}
		p.ArchivedAt, p.UpdatedAt = nil, s.now()
		if _, err := tx.NewUpdate().Model(p).WherePK().Column("archived_at", "updated_at").Exec(ctx); err != nil {
			return fmt.Errorf("projects: restoring project %s: %w", id, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "project.restore", AccountID: a.AccountID, TargetType: "project", TargetID: p.ID})
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func projectServiceIDs(ctx context.Context, db bun.IDB, accountID, projectID string) ([]string, error) {
	var ids []string
	err := db.NewSelect().Model((*assignment)(nil)).Column("service_id").
		Where("project_id = ?", projectID).Where("account_id = ?", accountID).Order("service_id").Scan(ctx, &ids)
	if err != nil {
		return nil, fmt.Errorf("projects: loading the services of project %s: %w", projectID, err)
	}
	return ids, nil
}

// MoveInput names the services a request moves.
type MoveInput struct {
	ServiceIDs []string `json:"service_ids"`
}

// Move is the outcome of a move: where the services are now ("" = no
// project).
type Move struct {
	ProjectID  string   `json:"project_id"`
	ServiceIDs []string `json:"service_ids"`
}

func checkMove(in MoveInput) ([]string, error) {
	if len(in.ServiceIDs) == 0 {
		return nil, apperr.Field("service_ids", "must name at least one service")
	}
	if len(in.ServiceIDs) > MaxMove {
		return nil, apperr.Field("service_ids", "may name at most %d services", MaxMove)
	}
	seen := map[string]bool{}
	var errs apperr.Fields
	for i, id := range in.ServiceIDs {
		if seen[id] {
			errs.Add(fmt.Sprintf("service_ids[%d]", i), "is listed twice")
		}
		seen[id] = true
	}
	return in.ServiceIDs, errs.Err()
}

// MoveServices puts the account's services in the project, from whichever
// project (or none) they were in. Errors: Invalid, NotFound (the project,
// or a service naming service_ids[i]), Conflict project_archived.
func (s *Service) MoveServices(ctx context.Context, a Actor, projectID string, in MoveInput) (*Move, error) {
	ids, err := checkMove(in)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p, err := s.authorize(ctx, tx, a, projectID, Write)
		if err != nil {
			return err
		}
		if p.Archived() {
			return apperr.New(apperr.Conflict, "the project is archived; restore it to move services into it").WithReason("project_archived")
		}
		if _, err := s.servicesByID(ctx, a.AccountID, ids, "service_ids", false); err != nil {
			return err
		}
		// Moving a service out of the project it is in changes that one.
		if err := s.authorizeServices(ctx, tx, a, ids, Write); err != nil {
			return err
		}
		now := s.now()
		rows := make([]assignment, len(ids))
		for i, id := range ids {
			rows[i] = assignment{ServiceID: id, ProjectID: projectID, AccountID: a.AccountID, AssignedAt: now}
		}
		_, err = tx.NewInsert().Model(&rows).On("CONFLICT (service_id) DO UPDATE").
			Set("project_id = EXCLUDED.project_id").Set("assigned_at = EXCLUDED.assigned_at").Exec(ctx)
		if err != nil {
			return fmt.Errorf("projects: moving services into %s: %w", projectID, err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "project.services.move_in", AccountID: a.AccountID, TargetType: "project", TargetID: projectID,
			Changes: map[string]any{"service_ids": ids}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Move{ProjectID: projectID, ServiceIDs: ids}, nil
}

// RemoveServices takes services out of the project: they are in no
// project afterwards. Errors: Invalid (a service not in the project,
// naming service_ids[i]), NotFound (the project, or a service).
func (s *Service) RemoveServices(ctx context.Context, a Actor, projectID string, in MoveInput) (*Move, error) {
	ids, err := checkMove(in)
	if err != nil {
		return nil, err
	}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.authorize(ctx, tx, a, projectID, Write); err != nil {
			return err
		}
		if _, err := s.servicesByID(ctx, a.AccountID, ids, "service_ids", false); err != nil {
			return err
		}
		var in []string
		if err := tx.NewSelect().Model((*assignment)(nil)).Column("service_id").Where("project_id = ?", projectID).
			Where("service_id IN (?)", bun.List(ids)).Scan(ctx, &in); err != nil {
			return fmt.Errorf("projects: loading the services of %s: %w", projectID, err)
		}
		member := map[string]bool{}
		for _, id := range in {
			member[id] = true
		}
		var errs apperr.Fields
		for i, id := range ids {
			if !member[id] {
				errs.Add(fmt.Sprintf("service_ids[%d]", i), "is not in this project")
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*assignment)(nil)).Where("project_id = ?", projectID).Where("service_id IN (?)", bun.List(ids)).Exec(ctx); err != nil {
			return fmt.Errorf("projects: removing services from %s: %w", projectID, err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "project.services.move_out", AccountID: a.AccountID, TargetType: "project", TargetID: projectID,
			Changes: map[string]any{"service_ids": ids}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Move{ProjectID: "", ServiceIDs: ids}, nil
}

// NoProject is the project_id filter value that selects services in no
// project.
const NoProject = "none"

// ServiceScope says which of the account's services a listing filtered by
// projectID shows: those of ids, or (exclude) all but those; NoProject
// selects the services in no project. Errors: NotFound (the project).
func (s *Service) ServiceScope(ctx context.Context, a Actor, projectID string) (ids []string, exclude bool, err error) {
	db := s.db.Conn(ctx)
	if projectID == NoProject {
		err := db.NewSelect().Model((*assignment)(nil)).Column("service_id").Where("account_id = ?", a.AccountID).Order("service_id").Scan(ctx, &ids)
		if err != nil {
			return nil, false, fmt.Errorf("projects: loading the account's assigned services: %w", err)
		}
		return ids, true, nil
	}
	if err := s.AuthorizeFilter(ctx, a, projectID); err != nil {
		return nil, false, err
	}
	ids, err = projectServiceIDs(ctx, db, a.AccountID, projectID)
	return ids, false, err
}

// AccountOf returns the account of project id, for a route outside any
// account (the caller's notifications) that is then admitted to that
// account as to any other, before AuthorizeFilter or ServiceScope decide
// on the project. Errors: NotFound naming project_id.
func (s *Service) AccountOf(ctx context.Context, id string) (string, error) {
	var accountID string
	err := s.db.Conn(ctx).NewSelect().Model((*Project)(nil)).Column("account_id").Where("id = ?", id).Scan(ctx, &accountID)
	if database.IsNoRows(err) {
		return "", &apperr.Error{Code: apperr.NotFound, Message: "no such project",
			Fields: []apperr.FieldError{{Field: "project_id", Message: "no such project"}}}
	}
	if err != nil {
		return "", fmt.Errorf("projects: loading project %s: %w", id, err)
	}
	return accountID, nil
}

// AuthorizeFilter is the check of a listing's project_id filter (a
// project id, or NoProject): the project must be one a may read.
// Errors: NotFound naming project_id.
func (s *Service) AuthorizeFilter(ctx context.Context, a Actor, projectID string) error {
	if projectID == NoProject {
		return nil
	}
	if _, err := s.authorize(ctx, s.db.Conn(ctx), a, projectID, Read); err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			return &apperr.Error{Code: apperr.NotFound, Message: "no such project",
				Fields: []apperr.FieldError{{Field: "project_id", Message: "no such project in this account"}}}
		}
		return err
	}
	return nil
}

// ProjectsOf maps each of the services that is in a project to that
// project's id, as db sees it (billing calls it in the transaction that
// writes invoice lines).
func (s *Service) ProjectsOf(ctx context.Context, db bun.IDB, serviceIDs []string) (map[string]string, error) {
	out := map[string]string{}
	if len(serviceIDs) == 0 {
		return out, nil
	}
	var rows []assignment
	if err := db.NewSelect().Model(&rows).Column("service_id", "project_id").Where("service_id IN (?)", bun.List(serviceIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("projects: loading the projects of services: %w", err)
	}
	for _, r := range rows {
		out[r.ServiceID] = r.ProjectID
	}
	return out, nil
}
