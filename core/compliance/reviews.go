package compliance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/database"
)

// snapshot is the JSON file of an access review.
type snapshot struct {
	Format      string        `json:"format"`
	GeneratedAt time.Time     `json:"generated_at"`
	GeneratedBy string        `json:"generated_by"`
	Staff       []StaffMember `json:"staff"`
}

const snapshotFormat = "ezscale-access-review/1"

// GenerateAccessReview takes a snapshot of every staff user's access and
// stores it as a file; a staff owner signs it off later.
func (s *Service) GenerateAccessReview(ctx context.Context, a Actor) (*AccessReview, error) {
	now := s.now()
	staff, err := s.dir.StaffAccess(ctx, now)
	if err != nil {
		return nil, err
	}
	if staff == nil {
		staff = []StaffMember{}
	}
	body, err := json.MarshalIndent(snapshot{Format: snapshotFormat, GeneratedAt: now, GeneratedBy: a.UserID, Staff: staff}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("compliance: encoding the access snapshot: %w", err)
	}
	info, _, err := s.store.Put(ctx, bytes.NewReader(body), "", 0)
	if err != nil {
		return nil, err
	}
	r := &AccessReview{ID: newID(), SnapshotSHA256: info.SHA256, SnapshotSize: info.Size, StaffCount: len(staff),
		GeneratedBy: a.UserID, GeneratedAt: now, Entries: staff}
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(r).Exec(ctx); err != nil {
			return fmt.Errorf("compliance: inserting access review: %w", err)
		}
		_, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.access_review.generate", TargetType: "compliance_access_review", TargetID: r.ID,
			Changes: map[string]any{"staff_count": r.StaffCount, "snapshot_sha256": r.SnapshotSHA256}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// AccessReview returns a review with its snapshot. Errors: NotFound.
func (s *Service) AccessReview(ctx context.Context, id string) (*AccessReview, error) {
	r := &AccessReview{}
	if err := s.db.Conn(ctx).NewSelect().Model(r).Where("id = ?", id).Scan(ctx); database.IsNoRows(err) {
		return nil, apperr.NotFoundf("no such access review")
	} else if err != nil {
		return nil, fmt.Errorf("compliance: loading access review %s: %w", id, err)
	}
	rc, _, err := s.store.Open(ctx, r.SnapshotSHA256)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var snap snapshot
	// A snapshot is a few hundred bytes per staff user.
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&snap); err != nil {
		return nil, fmt.Errorf("compliance: reading the snapshot of access review %s: %w", id, err)
	}
	r.Entries = snap.Staff
	return r, nil
}

// AccessReviews lists reviews (without their snapshots), oldest first.
func (s *Service) AccessReviews(ctx context.Context, after string, limit int) ([]AccessReview, error) {
	var out []AccessReview
	if err := page(s.db.Conn(ctx).NewSelect().Model(&out), after, limit).Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing access reviews: %w", err)
	}
	return out, nil
}

// SignOffAccessReview records a staff owner's sign-off. Errors: NotFound,
// Invalid (note), Conflict already_signed_off.
func (s *Service) SignOffAccessReview(ctx context.Context, a Actor, id, note string) (*AccessReview, error) {
	var errs apperr.Fields
	note = checkText(&errs, "note", note, false, maxTextLen)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	err := s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := s.now()
		res, err := tx.NewUpdate().Model((*AccessReview)(nil)).Set("signed_off_by = ?", a.UserID).Set("signed_off_at = ?", now).
			Set("sign_off_note = ?", note).Where("id = ?", id).Where("signed_off_at IS NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("compliance: signing off access review: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			exists, err := tx.NewSelect().Model((*AccessReview)(nil)).Where("id = ?", id).Exists(ctx)
			if err != nil {
				return fmt.Errorf("compliance: loading access review: %w", err)
			}
			if !exists {
				return apperr.NotFoundf("no such access review")
			}
			return apperr.New(apperr.Conflict, "this access review was already signed off").WithReason("already_signed_off")
		}
		_, err = audit.Append(ctx, tx, audit.Event{Action: "compliance.access_review.sign_off", TargetType: "compliance_access_review", TargetID: id,
			Changes: map[string]any{"note": note}})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.AccessReview(ctx, id)
}
