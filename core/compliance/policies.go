package compliance

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// PolicyInput creates a policy with its first version.
type PolicyInput struct {
	Title string `json:"title"`
	// OwnerID is the staff user who owns the policy.
	OwnerID    string       `json:"owner_id"`
	NextReview string       `json:"next_review"`
	Version    VersionInput `json:"version"`
}

// VersionInput adds a version of a policy's document.
type VersionInput struct {
	Version       string   `json:"version"`
	EffectiveDate string   `json:"effective_date"`
	File          *FileRef `json:"file"`
}

// PolicyPatch changes the fields it sets.
type PolicyPatch struct {
	Title      *string `json:"title"`
	OwnerID    *string `json:"owner_id"`
	NextReview *string `json:"next_review"`
}

func (s *Service) checkOwner(ctx context.Context, errs *apperr.Fields, id string) error {
	if id == "" {
		errs.Add("owner_id", "is required (a staff user)")
		return nil
	}
	role, err := s.dir.StaffRole(ctx, id)
	if err != nil {
		return err
	}
	if role == "" {
		errs.Add("owner_id", "must be a staff user")
	}
	return nil
}

func (s *Service) checkVersion(ctx context.Context, errs *apperr.Fields, prefix string, in VersionInput) (PolicyVersion, error) {
	v := PolicyVersion{
		Version:       checkText(errs, prefix+"version", in.Version, true, 50),
		EffectiveDate: checkDate(errs, prefix+"effective_date", in.EffectiveDate, true),
	}
	if in.File == nil {
		errs.Add(prefix+"file", "is required (the uploaded document)")
		return v, nil
	}
	v.FileSHA256, v.FileName, v.FileSize = s.resolveFile(ctx, errs, prefix+"file", in.File)
	return v, nil
}

func versionTaken(field string) error {
	return &apperr.Error{Code: apperr.Conflict, Reason: "policy_version_taken", Message: "the policy already has a version of that name",
		Fields: []apperr.FieldError{{Field: field, Message: "is already a version of this policy"}}}
}

// CreatePolicy creates a policy and its first (unapproved) version.
// Errors: Invalid (naming the field).
func (s *Service) CreatePolicy(ctx context.Context, a Actor, in PolicyInput) (*Policy, error) {
	var errs apperr.Fields
	title := checkText(&errs, "title", in.Title, true, maxTitleLen)
	next := checkDate(&errs, "next_review", in.NextReview, true)
	if err := s.checkOwner(ctx, &errs, in.OwnerID); err != nil {
		return nil, err
	}
	v, err := s.checkVersion(ctx, &errs, "version.", in.Version)
	if err != nil {
		return nil, err
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	p := &Policy{ID: newID(), Title: title, OwnerID: in.OwnerID, NextReview: next, CreatedBy: a.UserID, CreatedAt: now, UpdatedAt: now}
	v.ID, v.PolicyID, v.UploadedBy, v.UploadedAt = newID(), p.ID, a.UserID, now
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(p).Exec(ctx); err != nil {
			return fmt.Errorf("compliance: inserting policy: %w", err)
		}
		if _, err := tx.NewInsert().Model(&v).Exec(ctx); err != nil {
			return fmt.Errorf("compliance: inserting policy version: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.policy.create", TargetType: "compliance_policy", TargetID: p.ID,
			Changes: map[string]any{"title": p.Title, "owner_id": p.OwnerID, "next_review": p.NextReview, "version": v.Version,
				"effective_date": v.EffectiveDate, "file_sha256": v.FileSHA256}})
		return err
	})
	if err != nil {
		return nil, err
	}
	p.Versions = []PolicyVersion{v}
	return p, nil
}

// AddPolicyVersion uploads a new version of a policy's document (not yet
// approved). Errors: NotFound, Invalid, Conflict policy_version_taken.
func (s *Service) AddPolicyVersion(ctx context.Context, a Actor, policyID string, in VersionInput) (*PolicyVersion, error) {
	var errs apperr.Fields
	v, err := s.checkVersion(ctx, &errs, "", in)
	if err != nil {
		return nil, err
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	v.ID, v.PolicyID, v.UploadedBy, v.UploadedAt = newID(), policyID, a.UserID, now
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.lockPolicy(ctx, tx, policyID); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(&v).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return versionTaken("version")
			}
			return fmt.Errorf("compliance: inserting policy version: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*Policy)(nil)).Set("updated_at = ?", now).Where("id = ?", policyID).Exec(ctx); err != nil {
			return fmt.Errorf("compliance: touching policy: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.policy.version", TargetType: "compliance_policy", TargetID: policyID,
			Changes: map[string]any{"version_id": v.ID, "version": v.Version, "effective_date": v.EffectiveDate, "file_sha256": v.FileSHA256}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (s *Service) lockPolicy(ctx context.Context, tx bun.IDB, id string) (*Policy, error) {
	p := &Policy{}
	q := tx.NewSelect().Model(p).Where("id = ?", id)
	if !s.db.IsSQLite() {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such policy")
	} else if err != nil {
		return nil, fmt.Errorf("compliance: loading policy %s: %w", id, err)
	}
	return p, nil
}

// ApprovePolicyVersion records a staff owner's approval of a version.
// Errors: NotFound, Conflict already_approved.
func (s *Service) ApprovePolicyVersion(ctx context.Context, a Actor, policyID, versionID string) (*PolicyVersion, error) {
	v := &PolicyVersion{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := s.lockPolicy(ctx, tx, policyID); err != nil {
			return err
		}
		err := tx.NewSelect().Model(v).Where("id = ?", versionID).Where("policy_id = ?", policyID).Scan(ctx)
		if database.IsNoRows(err) {
			return apperr.NotFoundf("no such version of this policy")
		}
		if err != nil {
			return fmt.Errorf("compliance: loading policy version: %w", err)
		}
		if v.ApprovedAt != nil {
			return apperr.New(apperr.Conflict, "this version was already approved").WithReason("already_approved")
		}
		now := s.now()
		v.ApprovedBy, v.ApprovedAt = &a.UserID, &now
		res, err := tx.NewUpdate().Model(v).Column("approved_by", "approved_at").WherePK().Where("approved_at IS NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("compliance: approving policy version: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return apperr.New(apperr.Conflict, "this version was already approved").WithReason("already_approved")
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "compliance.policy.approve", TargetType: "compliance_policy", TargetID: policyID,
			Changes: map[string]any{"version_id": v.ID, "version": v.Version, "file_sha256": v.FileSHA256}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// UpdatePolicy changes a policy's title, owner or next review. Errors:
// NotFound, Invalid.
func (s *Service) UpdatePolicy(ctx context.Context, a Actor, id string, in PolicyPatch) (*Policy, error) {
	var errs apperr.Fields
	var title, next string
	if in.Title != nil {
		title = checkText(&errs, "title", *in.Title, true, maxTitleLen)
	}
	if in.NextReview != nil {
		next = checkDate(&errs, "next_review", *in.NextReview, true)
	}
	if in.OwnerID != nil {
		if err := s.checkOwner(ctx, &errs, *in.OwnerID); err != nil {
			return nil, err
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	var p *Policy
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if p, err = s.lockPolicy(ctx, tx, id); err != nil {
			return err
		}
		changes := map[string]any{}
		if in.Title != nil && title != p.Title {
			changes["title"] = map[string]string{"from": p.Title, "to": title}
			p.Title = title
		}
		if in.OwnerID != nil && *in.OwnerID != p.OwnerID {
			changes["owner_id"] = map[string]string{"from": p.OwnerID, "to": *in.OwnerID}
			p.OwnerID = *in.OwnerID
		}
		if in.NextReview != nil && next != p.NextReview {
			changes["next_review"] = map[string]string{"from": p.NextReview, "to": next}
			p.NextReview = next
		}
		if len(changes) == 0 {
			return nil
		}
		p.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(p).Column("title", "owner_id", "next_review", "updated_at").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("compliance: updating policy: %w", err)
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "compliance.policy.update", TargetType: "compliance_policy", TargetID: id, Changes: changes})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Policy(ctx, id)
}

// Policy returns a policy with its versions. Errors: NotFound.
func (s *Service) Policy(ctx context.Context, id string) (*Policy, error) {
	db := s.db.Conn(ctx)
	p := &Policy{}
	if err := db.NewSelect().Model(p).Where("id = ?", id).Scan(ctx); database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such policy")
	} else if err != nil {
		return nil, fmt.Errorf("compliance: loading policy %s: %w", id, err)
	}
	if err := db.NewSelect().Model(&p.Versions).Where("policy_id = ?", id).Order("effective_date DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: loading policy versions: %w", err)
	}
	return p, nil
}

// Policies lists policies with their versions, oldest first.
func (s *Service) Policies(ctx context.Context, after string, limit int) ([]Policy, error) {
	db := s.db.Conn(ctx)
	var out []Policy
	if err := page(db.NewSelect().Model(&out), after, limit).Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing policies: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]string, len(out))
	at := make(map[string]int, len(out))
	for i, p := range out {
		ids[i], at[p.ID] = p.ID, i
	}
	var vs []PolicyVersion
	if err := db.NewSelect().Model(&vs).Where("policy_id IN (?)", bun.List(ids)).Order("effective_date DESC", "id DESC").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing policy versions: %w", err)
	}
	for _, v := range vs {
		out[at[v.PolicyID]].Versions = append(out[at[v.PolicyID]].Versions, v)
	}
	return out, nil
}
