package compliance_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/platform/core/testkit"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

func TestPolicyVersionsAreApprovedOnceAndAudited(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		p := tb.policy(t, "Information Security Policy", "2026-01-01")
		v2, err := tb.c.AddPolicyVersion(tb.ctx, tb.admin, p.ID, compliance.VersionInput{Version: "2.0", EffectiveDate: "2026-06-01",
			File: tb.upload(t, "isp-2.pdf", []byte("v2"))})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tb.c.AddPolicyVersion(tb.ctx, tb.admin, p.ID, compliance.VersionInput{Version: "2.0", EffectiveDate: "2026-07-01",
			File: tb.upload(t, "isp-2b.pdf", []byte("v2b"))})
		testkit.AppErr(t, err, apperr.Conflict, "policy_version_taken")

		got, err := tb.c.ApprovePolicyVersion(tb.ctx, tb.owner, p.ID, v2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ApprovedBy == nil || *got.ApprovedBy != tb.owner.UserID || got.ApprovedAt == nil {
			t.Fatalf("approved version = %+v, want approved by the owner", got)
		}
		_, err = tb.c.ApprovePolicyVersion(tb.ctx, tb.owner, p.ID, v2.ID)
		testkit.AppErr(t, err, apperr.Conflict, "already_approved")
		_, err = tb.c.ApprovePolicyVersion(tb.ctx, tb.owner, p.ID, p.Versions[0].ID+"x")
		testkit.AppErr(t, err, apperr.NotFound, "")

		read, err := tb.c.Policy(tb.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		for _, v := range read.Versions {
			versions = append(versions, v.Version)
		}
		if diff := cmp.Diff([]string{"2.0", "1.0"}, versions); diff != "" {
			t.Fatalf("versions, newest first (-want +got):\n%s", diff)
		}
		want := []string{"compliance.policy.create", "compliance.policy.version", "compliance.policy.approve"}
		if diff := cmp.Diff(want, tb.actions(t, "compliance.policy.")); diff != "" {
			t.Fatalf("audit (-want +got):\n%s", diff)
		}
	})
}

func TestRecordsRefuseInvalidInputNamingTheField(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		customer, _, err := tb.acc.Signup(tb.ctx, accounts.SignupInput{Email: "customer@example.test", Password: "correct horse battery staple 42", AccountName: "Customer", IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = tb.c.CreatePolicy(tb.ctx, tb.admin, compliance.PolicyInput{Title: "", OwnerID: customer.ID, NextReview: "2026-02-30",
			Version: compliance.VersionInput{Version: "1", EffectiveDate: "2026-01-01",
				File: &compliance.FileRef{SHA256: strings.Repeat("a", 64), Name: "../x.pdf"}}})
		e := testkit.AppErr(t, err, apperr.Invalid, "")
		if diff := cmp.Diff([]string{"title", "next_review", "owner_id", "version.file.sha256"}, fields(e)); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
		_, err = tb.c.CreateEvidence(tb.ctx, tb.admin, compliance.EvidenceInput{ControlID: "CC6.1", Type: "photo", Title: "t",
			PeriodFrom: "2026-02-01", PeriodTo: "2026-01-01"})
		e = testkit.AppErr(t, err, apperr.Invalid, "")
		if diff := cmp.Diff([]string{"type", "period_to", "file"}, fields(e)); diff != "" {
			t.Fatalf("fields (-want +got):\n%s", diff)
		}
		// An incident needs no file.
		if _, err := tb.c.CreateEvidence(tb.ctx, tb.admin, compliance.EvidenceInput{ControlID: "CC7.3", Type: compliance.TypeIncident,
			Title: "Outage of fra-1", Description: "root cause: disk", PeriodFrom: "2026-02-01", PeriodTo: "2026-02-01"}); err != nil {
			t.Fatal(err)
		}
		if got := tb.actions(t, "compliance.evidence."); len(got) != 1 {
			t.Fatalf("audit = %v, want the one evidence created", got)
		}
	})
}

func TestUploadRefusesAMismatchedHashAndStoresNothing(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		claimed := strings.Repeat("0", 64)
		_, _, err := tb.c.Upload(tb.ctx, tb.admin, strings.NewReader("bytes"), claimed)
		testkit.AppErr(t, err, apperr.Unprocessable, "sha256_mismatch")
		if got := tb.actions(t, "compliance.file."); len(got) != 0 {
			t.Fatalf("audit = %v, want nothing for a refused upload", got)
		}
		big := bytes.Repeat([]byte{1}, int(tb.c.UploadLimit())+1)
		_, _, err = tb.c.Upload(tb.ctx, tb.admin, bytes.NewReader(big), "")
		testkit.AppErr(t, err, apperr.Invalid, "file_too_large")
	})
}

func TestAccessReviewSnapshotsEveryStaffUserAndIsSignedOffOnce(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		support := tb.staff(t, "support@example.test", "support")
		if err := tb.acc.DisableUser(tb.ctx, &accounts.Principal{UserID: tb.owner.UserID, StaffRole: accounts.StaffOwner}, support.UserID); err != nil {
			t.Fatal(err)
		}
		r, err := tb.c.GenerateAccessReview(tb.ctx, tb.admin)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tb.c.AccessReview(tb.ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		type row struct {
			Email, Role   string
			Disabled, TFA bool
			Tokens        int
		}
		var rows []row
		for _, e := range got.Entries {
			rows = append(rows, row{e.Email, e.Role, e.Disabled, e.TwoFactor, e.APITokens})
		}
		want := []row{{"admin@example.test", "admin", false, false, 0}, {"owner@example.test", "owner", false, false, 0}, {"support@example.test", "support", true, false, 0}}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Fatalf("snapshot (-want +got):\n%s", diff)
		}
		signed, err := tb.c.SignOffAccessReview(tb.ctx, tb.owner, r.ID, "reviewed with HR")
		if err != nil {
			t.Fatal(err)
		}
		if signed.SignedOffBy == nil || *signed.SignedOffBy != tb.owner.UserID || signed.SignOffNote != "reviewed with HR" {
			t.Fatalf("signed off = %+v", signed)
		}
		_, err = tb.c.SignOffAccessReview(tb.ctx, tb.owner, r.ID, "")
		testkit.AppErr(t, err, apperr.Conflict, "already_signed_off")
		_, err = tb.c.SignOffAccessReview(tb.ctx, tb.owner, "nope", "")
		testkit.AppErr(t, err, apperr.NotFound, "")
	})
}

func TestRemindersAreSentOncePerDueDate(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		p := tb.policy(t, "Access Control Policy", "2026-01-01")
		// Not due within the lead (14 days) yet.
		if n, err := tb.c.SendReminders(tb.ctx); err != nil || n != 0 {
			t.Fatalf("reminders long before the review = %d, %v; want 0", n, err)
		}
		next := "2026-03-10"
		if _, err := tb.c.UpdatePolicy(tb.ctx, tb.admin, p.ID, compliance.PolicyPatch{NextReview: &next}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.c.CreateVendor(tb.ctx, tb.admin, compliance.VendorInput{Name: "Stripe", RiskLevel: compliance.RiskHigh, NextAssessment: "2026-12-01"}); err != nil {
			t.Fatal(err)
		}
		for day := range 3 {
			n, err := tb.c.SendReminders(tb.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[int]int{0: 1}[day]; n != want {
				t.Fatalf("day %d: %d reminders, want %d", day, n, want)
			}
			tb.clock.Add(24 * time.Hour)
		}
		// The owner has one notification; the admin none.
		for who, want := range map[string]int64{tb.owner.UserID: 1, tb.admin.UserID: 0} {
			n, err := db.Read.NewSelect().Table("notifications").Where("user_id = ?", who).Count(tb.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != want {
				t.Fatalf("user %s has %d reminders, want %d", who, n, want)
			}
		}
		// A new due date is reminded of again, once.
		later := "2026-03-15"
		if _, err := tb.c.UpdatePolicy(tb.ctx, tb.admin, p.ID, compliance.PolicyPatch{NextReview: &later}); err != nil {
			t.Fatal(err)
		}
		if n, err := tb.c.SendReminders(tb.ctx); err != nil || n != 1 {
			t.Fatalf("reminders for the new date = %d, %v; want 1", n, err)
		}
	})
}

func TestExportAndVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		old := tb.policy(t, "Old Policy", "2024-01-01")
		if _, err := tb.c.AddPolicyVersion(tb.ctx, tb.admin, old.ID, compliance.VersionInput{Version: "2", EffectiveDate: "2025-01-01",
			File: tb.upload(t, "old-2.pdf", []byte("old v2"))}); err != nil {
			t.Fatal(err)
		}
		tb.policy(t, "Future Policy", "2027-01-01")
		if _, err := tb.c.CreateEvidence(tb.ctx, tb.admin, compliance.EvidenceInput{ControlID: "CC6.1", Type: compliance.TypeLog, Title: "Access logs",
			PeriodFrom: "2026-01-01", PeriodTo: "2026-01-31", File: tb.upload(t, "access.log", []byte("log lines"))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.c.CreateEvidence(tb.ctx, tb.admin, compliance.EvidenceInput{ControlID: "CC6.1", Type: compliance.TypeLog, Title: "Before",
			PeriodFrom: "2025-01-01", PeriodTo: "2025-01-31", File: tb.upload(t, "before.log", []byte("earlier"))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.c.CreateVendor(tb.ctx, tb.admin, compliance.VendorInput{Name: "Stripe", RiskLevel: compliance.RiskHigh, NextAssessment: "2026-12-01",
			Report: tb.upload(t, "stripe-soc2.pdf", []byte("soc2"))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tb.c.GenerateAccessReview(tb.ctx, tb.admin); err != nil {
			t.Fatal(err)
		}
		var zipBuf bytes.Buffer
		m, err := tb.c.Export(tb.ctx, tb.admin, "2026-01-01", "2026-12-31", &zipBuf)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, f := range m.Files {
			paths = append(paths, strings.Split(f.Path, "/")[0]+"/"+last(f.Path))
		}
		want := []string{"access-reviews.json/access-reviews.json", "access-reviews/" + last(m.Files[1].Path), "evidence.json/evidence.json",
			"evidence/" + last(m.Files[3].Path), "policies.json/policies.json", "policies/" + last(m.Files[5].Path), "vendors.json/vendors.json",
			"vendors/stripe-soc2.pdf"}
		if diff := cmp.Diff(want, paths); diff != "" {
			t.Fatalf("exported files (-want +got):\n%s", diff)
		}
		if !strings.HasSuffix(m.Files[3].Path, "-access.log") || !strings.HasSuffix(m.Files[5].Path, "-old-2.pdf") {
			t.Fatalf("exported %s and %s, want the period's evidence and the policy version in force", m.Files[3].Path, m.Files[5].Path)
		}
		// The audit head is the export's own event, the latest one.
		recs := tb.actions(t, "compliance.export")
		if len(recs) != 1 || m.AuditHead.Seq == 0 || len(m.AuditHead.Hash) != 64 {
			t.Fatalf("audit head %+v, export events %v", m.AuditHead, recs)
		}

		rep, err := compliance.Verify(bytes.NewReader(zipBuf.Bytes()), int64(zipBuf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() || rep.Checked != len(m.Files) {
			t.Fatalf("verify: %d checked, problems %v", rep.Checked, rep.Problems)
		}
		if diff := cmp.Diff(m, rep.Manifest, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("manifest read back (-exported +read):\n%s", diff)
		}
	})
}

func last(p string) string { return p[strings.LastIndex(p, "/")+1:] }

func TestVerifyDetectsATamperedExport(t *testing.T) {
	t.Parallel()
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		tb := setup(t, db)
		tb.policy(t, "Information Security Policy", "2026-01-01")
		var zipBuf bytes.Buffer
		m, err := tb.c.Export(tb.ctx, tb.admin, "2026-01-01", "2026-12-31", &zipBuf)
		if err != nil {
			t.Fatal(err)
		}
		doc := m.Files[len(m.Files)-1].Path // the policy's document
		cases := map[string]struct {
			edit func(name string, body []byte) (string, []byte, bool)
			add  string
			want string
		}{
			"changed file": {edit: func(n string, b []byte) (string, []byte, bool) {
				if n == doc {
					return n, []byte("forged policy"), true
				}
				return n, b, true
			}, want: doc + ": 13 bytes, the manifest says"},
			"same size, other bytes": {edit: func(n string, b []byte) (string, []byte, bool) {
				if n == doc {
					c := bytes.Clone(b)
					c[0] ^= 1
					return n, c, true
				}
				return n, b, true
			}, want: doc + ": SHA-256"},
			"missing file": {edit: func(n string, b []byte) (string, []byte, bool) { return n, b, n != doc }, want: doc + ": missing from the zip"},
			"extra file":   {edit: func(n string, b []byte) (string, []byte, bool) { return n, b, true }, add: "policies/backdated.pdf", want: "policies/backdated.pdf: in the zip but not in the manifest"},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out := rewrite(t, zipBuf.Bytes(), tc.edit, tc.add)
				rep, err := compliance.Verify(bytes.NewReader(out), int64(len(out)))
				if err != nil {
					t.Fatal(err)
				}
				if rep.OK() || len(rep.Problems) != 1 || !strings.HasPrefix(rep.Problems[0], tc.want) {
					t.Fatalf("problems %q, want one starting %q", rep.Problems, tc.want)
				}
			})
		}
		t.Run("no manifest", func(t *testing.T) {
			t.Parallel()
			out := rewrite(t, zipBuf.Bytes(), func(n string, b []byte) (string, []byte, bool) { return n, b, n != compliance.ManifestName }, "")
			if _, err := compliance.Verify(bytes.NewReader(out), int64(len(out))); err == nil {
				t.Fatal("verify of a zip without its manifest succeeded")
			}
		})
	})
}

// rewrite copies a zip through edit (which may rename, change or drop an
// entry) and adds an entry named add.
func rewrite(t *testing.T, in []byte, edit func(string, []byte) (string, []byte, bool), add string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		name, body, keep := edit(f.Name, b)
		if !keep {
			continue
		}
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if add != "" {
		w, err := zw.Create(add)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("%PDF"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func FuzzParseManifest(f *testing.F) {
	valid, _ := json.Marshal(compliance.Manifest{Format: compliance.ManifestFormat, From: "2026-01-01", To: "2026-12-31",
		Files: []compliance.ManifestFile{{Path: "policies/a.pdf", SHA256: strings.Repeat("a", 64), Size: 3}}})
	f.Add(valid)
	f.Add([]byte(`{"format":"ezscale-evidence-export/1","files":[{"path":"../etc/passwd","sha256":"","size":-1}]}`))
	f.Add([]byte(`{"format":"ezscale-evidence-export/1","files":[{"path":"a","sha256":"` + strings.Repeat("b", 64) + `","size":1},{"path":"a","sha256":"` + strings.Repeat("b", 64) + `","size":1}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := compliance.ParseManifest(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, file := range m.Files {
			if seen[file.Path] || file.Path == compliance.ManifestName || strings.HasPrefix(file.Path, "/") || containsDotDotElem(file.Path) {
				t.Fatalf("accepted a bad path %q", file.Path)
			}
			seen[file.Path] = true
			if file.Size < 0 || len(file.SHA256) != 64 {
				t.Fatalf("accepted %+v", file)
			}
		}
		// What was accepted encodes and parses back the same.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		again, err := compliance.ParseManifest(b)
		if err != nil {
			t.Fatalf("re-parsing an accepted manifest: %v", err)
		}
		if diff := cmp.Diff(m, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func containsDotDotElem(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}
