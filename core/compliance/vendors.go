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

// VendorInput creates a vendor assessment.
type VendorInput struct {
	Name           string `json:"name"`
	RiskLevel      string `json:"risk_level"`
	Notes          string `json:"notes"`
	AssessedAt     string `json:"assessed_at"`
	NextAssessment string `json:"next_assessment"`
	// Report is the vendor's SOC 2 report (optional).
	Report *FileRef `json:"report"`
}

// VendorPatch changes the fields it sets; a new report replaces the
// reference to the old one (the old file stays in the store).
type VendorPatch struct {
	Name           *string  `json:"name"`
	RiskLevel      *string  `json:"risk_level"`
	Notes          *string  `json:"notes"`
	AssessedAt     *string  `json:"assessed_at"`
	NextAssessment *string  `json:"next_assessment"`
	Report         *FileRef `json:"report"`
}

func checkRisk(errs *apperr.Fields, r string) {
	if !slices.Contains(RiskLevels, r) {
		errs.Add("risk_level", "must be one of %s", strings.Join(RiskLevels, ", "))
	}
}

func vendorTaken() error {
	return &apperr.Error{Code: apperr.Conflict, Reason: "vendor_name_taken", Message: "a vendor of that name exists",
		Fields: []apperr.FieldError{{Field: "name", Message: "is already the name of a vendor"}}}
}

// CreateVendor records a vendor assessment. Errors: Invalid, Conflict
// vendor_name_taken.
func (s *Service) CreateVendor(ctx context.Context, a Actor, in VendorInput) (*Vendor, error) {
	var errs apperr.Fields
	v := &Vendor{
		Name:           checkText(&errs, "name", in.Name, true, maxTitleLen),
		RiskLevel:      in.RiskLevel,
		Notes:          checkText(&errs, "notes", in.Notes, false, maxTextLen),
		AssessedAt:     checkDate(&errs, "assessed_at", in.AssessedAt, false),
		NextAssessment: checkDate(&errs, "next_assessment", in.NextAssessment, true),
	}
	checkRisk(&errs, in.RiskLevel)
	if in.Report != nil {
		sha, name, size := s.resolveFile(ctx, &errs, "report", in.Report)
		if sha != "" {
			v.ReportSHA256, v.ReportName, v.ReportSize = &sha, name, size
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	v.ID, v.NameKey, v.CreatedAt, v.UpdatedAt = newID(), strings.ToLower(v.Name), now, now
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(v).Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return vendorTaken()
			}
			return fmt.Errorf("compliance: inserting vendor: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.vendor.create", TargetType: "compliance_vendor", TargetID: v.ID,
			Changes: map[string]any{"name": v.Name, "risk_level": v.RiskLevel, "next_assessment": v.NextAssessment, "report_sha256": v.ReportSHA256}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// UpdateVendor changes a vendor assessment. Errors: NotFound, Invalid,
// Conflict vendor_name_taken.
func (s *Service) UpdateVendor(ctx context.Context, a Actor, id string, in VendorPatch) (*Vendor, error) {
	var errs apperr.Fields
	var name, notes, assessed, next string
	if in.Name != nil {
		name = checkText(&errs, "name", *in.Name, true, maxTitleLen)
	}
	if in.RiskLevel != nil {
		checkRisk(&errs, *in.RiskLevel)
	}
	if in.Notes != nil {
		notes = checkText(&errs, "notes", *in.Notes, false, maxTextLen)
	}
	if in.AssessedAt != nil {
		assessed = checkDate(&errs, "assessed_at", *in.AssessedAt, false)
	}
	if in.NextAssessment != nil {
		next = checkDate(&errs, "next_assessment", *in.NextAssessment, true)
	}
	var sha, rname string
	var rsize int64
	if in.Report != nil {
		sha, rname, rsize = s.resolveFile(ctx, &errs, "report", in.Report)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	v := &Vendor{}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := tx.NewSelect().Model(v).Where("id = ?", id)
		if !s.db.IsSQLite() {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); database.IsNoRows(err) {
			return apperr.NotFoundf("no such vendor")
		} else if err != nil {
			return fmt.Errorf("compliance: loading vendor %s: %w", id, err)
		}
		changes := map[string]any{}
		if in.Name != nil && name != v.Name {
			changes["name"] = map[string]string{"from": v.Name, "to": name}
			v.Name, v.NameKey = name, strings.ToLower(name)
		}
		if in.RiskLevel != nil && *in.RiskLevel != v.RiskLevel {
			changes["risk_level"] = map[string]string{"from": v.RiskLevel, "to": *in.RiskLevel}
			v.RiskLevel = *in.RiskLevel
		}
		if in.Notes != nil && notes != v.Notes {
			changes["notes"] = true
			v.Notes = notes
		}
		if in.AssessedAt != nil && assessed != v.AssessedAt {
			changes["assessed_at"] = map[string]string{"from": v.AssessedAt, "to": assessed}
			v.AssessedAt = assessed
		}
		if in.NextAssessment != nil && next != v.NextAssessment {
			changes["next_assessment"] = map[string]string{"from": v.NextAssessment, "to": next}
			v.NextAssessment = next
		}
		if in.Report != nil && (v.ReportSHA256 == nil || *v.ReportSHA256 != sha || v.ReportName != rname) {
			changes["report_sha256"] = sha
			v.ReportSHA256, v.ReportName, v.ReportSize = &sha, rname, rsize
		}
		if len(changes) == 0 {
			return nil
		}
		v.UpdatedAt = s.now()
		if _, err := tx.NewUpdate().Model(v).ExcludeColumn("id", "created_at").WherePK().Exec(ctx); err != nil {
			if database.IsUniqueViolation(err) {
				return vendorTaken()
			}
			return fmt.Errorf("compliance: updating vendor: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.vendor.update", TargetType: "compliance_vendor", TargetID: id, Changes: changes})
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// Vendor returns a vendor assessment. Errors: NotFound.
func (s *Service) Vendor(ctx context.Context, id string) (*Vendor, error) {
	v := &Vendor{}
	if err := s.db.Conn(ctx).NewSelect().Model(v).Where("id = ?", id).Scan(ctx); database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such vendor")
	} else if err != nil {
		return nil, fmt.Errorf("compliance: loading vendor %s: %w", id, err)
	}
	return v, nil
}

// Vendors lists vendor assessments, oldest first.
func (s *Service) Vendors(ctx context.Context, after string, limit int) ([]Vendor, error) {
	var out []Vendor
	if err := page(s.db.Conn(ctx).NewSelect().Model(&out), after, limit).Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing vendors: %w", err)
	}
	return out, nil
}
