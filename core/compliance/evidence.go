package compliance

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// EvidenceInput records evidence of a control (or an incident, or a DR
// test) for a period.
type EvidenceInput struct {
	// ControlID names the control ("CC6.1"); incidents and DR tests name
	// the control they bear on.
	ControlID   string `json:"control_id"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	PeriodFrom  string `json:"period_from"`
	PeriodTo    string `json:"period_to"`
	// File is optional for incidents and DR tests (the description may be
	// the record), required for the other types.
	File *FileRef `json:"file"`
}

// EvidenceFilter selects evidence.
type EvidenceFilter struct {
	ControlID string
	Type      string
	// From and To select evidence whose period overlaps [From, To]
	// (either may be empty).
	From, To string
	After    string
	Limit    int
}

// CreateEvidence records evidence; collected by the actor. Errors:
// Invalid (naming the field).
func (s *Service) CreateEvidence(ctx context.Context, a Actor, in EvidenceInput) (*Evidence, error) {
	var errs apperr.Fields
	e := &Evidence{
		ControlID:   checkText(&errs, "control_id", in.ControlID, true, 50),
		Type:        in.Type,
		Title:       checkText(&errs, "title", in.Title, true, maxTitleLen),
		Description: checkText(&errs, "description", in.Description, false, maxTextLen),
		PeriodFrom:  checkDate(&errs, "period_from", in.PeriodFrom, true),
		PeriodTo:    checkDate(&errs, "period_to", in.PeriodTo, true),
		CollectedBy: a.UserID,
	}
	if !slices.Contains(EvidenceTypes, in.Type) {
		errs.Add("type", "must be one of %s", strings.Join(EvidenceTypes, ", "))
	}
	if e.PeriodFrom != "" && e.PeriodTo != "" && e.PeriodFrom > e.PeriodTo {
		errs.Add("period_to", "must not be before period_from")
	}
	switch {
	case in.File != nil:
		sha, name, size := s.resolveFile(ctx, &errs, "file", in.File)
		if sha != "" {
			e.FileSHA256, e.FileName, e.FileSize = &sha, name, size
		}
	case in.Type != TypeIncident && in.Type != TypeDRTest:
		errs.Add("file", "is required for evidence of type %q", in.Type)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	e.ID, e.CreatedAt = newID(), s.now()
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(e).Exec(ctx); err != nil {
			return fmt.Errorf("compliance: inserting evidence: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.evidence.create", TargetType: "compliance_evidence", TargetID: e.ID,
			Changes: map[string]any{"control_id": e.ControlID, "type": e.Type, "period_from": e.PeriodFrom, "period_to": e.PeriodTo,
				"file_sha256": e.FileSHA256}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Evidence returns one evidence record. Errors: NotFound.
func (s *Service) Evidence(ctx context.Context, id string) (*Evidence, error) {
	e := &Evidence{}
	if err := s.db.Conn(ctx).NewSelect().Model(e).Where("id = ?", id).Scan(ctx); database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such evidence")
	} else if err != nil {
		return nil, fmt.Errorf("compliance: loading evidence %s: %w", id, err)
	}
	return e, nil
}

// EvidenceList lists evidence, oldest record first. Errors: Invalid
// (type, from, to).
func (s *Service) EvidenceList(ctx context.Context, f EvidenceFilter) ([]Evidence, error) {
	var errs apperr.Fields
	from := checkDate(&errs, "from", f.From, false)
	to := checkDate(&errs, "to", f.To, false)
	if f.Type != "" && !slices.Contains(EvidenceTypes, f.Type) {
		errs.Add("type", "must be one of %s", strings.Join(EvidenceTypes, ", "))
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var out []Evidence
	q := s.db.Conn(ctx).NewSelect().Model(&out)
	if f.ControlID != "" {
		q = q.Where("control_id = ?", f.ControlID)
	}
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if from != "" {
		q = q.Where("period_to >= ?", from)
	}
	if to != "" {
		q = q.Where("period_from <= ?", to)
	}
	if err := page(q, f.After, f.Limit).Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing evidence: %w", err)
	}
	return out, nil
}
