package compliance

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/blob"
)

// ExportPeriod checks an export's period: both dates, from not after to.
// Errors: Invalid naming from or to.
func ExportPeriod(from, to string) error {
	var errs apperr.Fields
	from = checkDate(&errs, "from", from, true)
	to = checkDate(&errs, "to", to, true)
	if from != "" && to != "" && from > to {
		errs.Add("to", "must not be before from")
	}
	return errs.Err()
}

// exportFile is a file of an export still to be written.
type exportFile struct {
	path string
	// sha is the blob to copy ("" for body).
	sha  string
	body []byte
}

// Export writes the auditor's zip of the period [from, to] to w,
// streaming: the policy versions in force during the period, the evidence
// whose period overlaps it (with its files), every vendor's record and
// SOC 2 report, the access reviews generated in it, an index of each kind
// as JSON, and manifest.json last. The export is audited first; that
// event is the audit head in the manifest. Each stored file is hashed as
// it is copied and the export fails if one no longer matches its address.
// Errors: Invalid (from, to).
func (s *Service) Export(ctx context.Context, a Actor, from, to string, w io.Writer) (*Manifest, error) {
	if err := ExportPeriod(from, to); err != nil {
		return nil, err
	}
	files, err := s.exportFiles(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var head AuditHead
	err = s.db.Tx(ctx, func(ctx context.Context, tx bun.Tx) error {
		rec, err := audit.Append(ctx, tx, audit.Event{Action: "compliance.export", TargetType: "compliance_export",
			Changes: map[string]any{"from": from, "to": to, "files": len(files)}})
		if err != nil {
			return err
		}
		head = AuditHead{Seq: rec.Seq, Hash: rec.Hash, EventID: rec.ID}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := &Manifest{Format: ManifestFormat, GeneratedAt: s.now(), From: from, To: to, AuditHead: head, Files: make([]ManifestFile, 0, len(files))}
	zw := zip.NewWriter(w)
	buf := make([]byte, 256<<10)
	for _, f := range files {
		mf, err := s.writeFile(ctx, zw, f, m.GeneratedAt, buf)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, mf)
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("compliance: encoding the manifest: %w", err)
	}
	if _, err := s.writeFile(ctx, zw, exportFile{path: ManifestName, body: body}, m.GeneratedAt, buf); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compliance: finishing the export: %w", err)
	}
	return m, nil
}

func (s *Service) writeFile(ctx context.Context, zw *zip.Writer, f exportFile, mod time.Time, buf []byte) (ManifestFile, error) {
	// Stored, not deflated: documents are mostly compressed already, and
	// an export is bound by the store's throughput, not the zip's size.
	dst, err := zw.CreateHeader(&zip.FileHeader{Name: f.path, Method: zip.Store, Modified: mod})
	if err != nil {
		return ManifestFile{}, fmt.Errorf("compliance: adding %s to the export: %w", f.path, err)
	}
	h := sha256.New()
	var src io.Reader = bytes.NewReader(f.body)
	if f.sha != "" {
		rc, _, err := s.store.Open(ctx, f.sha)
		if err != nil {
			return ManifestFile{}, fmt.Errorf("compliance: opening %s (%s) for the export: %w", f.path, f.sha, err)
		}
		defer rc.Close()
		src = blob.Verified(rc, f.sha)
	}
	n, err := io.CopyBuffer(io.MultiWriter(dst, h), src, buf)
	if err != nil {
		return ManifestFile{}, fmt.Errorf("compliance: writing %s to the export: %w", f.path, err)
	}
	return ManifestFile{Path: f.path, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// slug makes a path element of s.
func slug(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(s, "-"), "-.")
	if len(s) > 80 {
		s = s[:80]
	}
	if s == "" {
		s = "unnamed"
	}
	return s
}

// exportFiles lists the files of the period's export (manifest excepted).
func (s *Service) exportFiles(ctx context.Context, from, to string) ([]exportFile, error) {
	db := s.db.Conn(ctx)
	var out []exportFile
	addJSON := func(p string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("compliance: encoding %s: %w", p, err)
		}
		out = append(out, exportFile{path: p, body: b})
		return nil
	}

	// Policies: each version in force at some time in the period (its
	// effective date is not after to, and no later version took effect
	// on or before from).
	var ps []Policy
	if err := db.NewSelect().Model(&ps).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing policies: %w", err)
	}
	var vs []PolicyVersion
	if err := db.NewSelect().Model(&vs).Where("effective_date <= ?", to).Order("policy_id", "effective_date", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing policy versions: %w", err)
	}
	byPolicy := map[string][]PolicyVersion{}
	for _, v := range vs {
		byPolicy[v.PolicyID] = append(byPolicy[v.PolicyID], v)
	}
	var policyIndex []Policy
	for _, p := range ps {
		versions := byPolicy[p.ID]
		var kept []PolicyVersion
		for i, v := range versions {
			if i+1 < len(versions) && versions[i+1].EffectiveDate <= from {
				continue // superseded before the period began
			}
			kept = append(kept, v)
			out = append(out, exportFile{path: fmt.Sprintf("policies/%s-%s/%s-%s", slug(p.Title), p.ID, slug(v.Version)+"-"+v.ID, slug(v.FileName)), sha: v.FileSHA256})
		}
		if len(kept) > 0 {
			p.Versions = kept
			policyIndex = append(policyIndex, p)
		}
	}
	if policyIndex == nil {
		policyIndex = []Policy{}
	}
	if err := addJSON("policies.json", policyIndex); err != nil {
		return nil, err
	}

	var es []Evidence
	if err := db.NewSelect().Model(&es).Where("period_to >= ?", from).Where("period_from <= ?", to).Order("control_id", "period_from", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing evidence: %w", err)
	}
	for _, e := range es {
		if e.FileSHA256 != nil {
			out = append(out, exportFile{path: fmt.Sprintf("evidence/%s/%s-%s", slug(e.ControlID), e.ID, slug(e.FileName)), sha: *e.FileSHA256})
		}
	}
	if es == nil {
		es = []Evidence{}
	}
	if err := addJSON("evidence.json", es); err != nil {
		return nil, err
	}

	var vendors []Vendor
	if err := db.NewSelect().Model(&vendors).Order("name_key").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing vendors: %w", err)
	}
	for _, v := range vendors {
		if v.ReportSHA256 != nil {
			out = append(out, exportFile{path: fmt.Sprintf("vendors/%s-%s/%s", slug(v.Name), v.ID, slug(v.ReportName)), sha: *v.ReportSHA256})
		}
	}
	if vendors == nil {
		vendors = []Vendor{}
	}
	if err := addJSON("vendors.json", vendors); err != nil {
		return nil, err
	}

	fromT, _ := time.Parse(dateLayout, from)
	toT, _ := time.Parse(dateLayout, to)
	var rs []AccessReview
	if err := db.NewSelect().Model(&rs).Where("generated_at >= ?", fromT).Where("generated_at < ?", toT.AddDate(0, 0, 1)).Order("generated_at", "id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("compliance: listing access reviews: %w", err)
	}
	for _, r := range rs {
		out = append(out, exportFile{path: fmt.Sprintf("access-reviews/%s-%s.json", r.GeneratedAt.Format(dateLayout), r.ID), sha: r.SnapshotSHA256})
	}
	if rs == nil {
		rs = []AccessReview{}
	}
	if err := addJSON("access-reviews.json", rs); err != nil {
		return nil, err
	}
	// Paths are unique by construction (ids in each); keep the order
	// stable for readers.
	sort.SliceStable(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}
