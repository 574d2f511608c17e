package httpapi

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/compliance"
)

// ComplianceAPI is the SOC 2 evidence of the staff side: security
// policies, evidence, vendors, access reviews, files and the auditor's
// export. Support staff read; admins change; staff owners approve policy
// versions and sign off access reviews (docs/compliance.md).
type ComplianceAPI struct {
	Compliance *compliance.Service
}

const compliancePath = "/api/v1/admin/compliance"

// Routes registers the compliance routes.
func (m *ComplianceAPI) Routes(s *Server) {
	read := func(path string, h HandlerFunc) {
		s.Handle(Route{Method: "GET", Path: compliancePath + path, Auth: Staff, StaffRole: accounts.StaffSupport, Scope: "admin:read", Handler: h})
	}
	write := func(method, path, role string, idem bool, h HandlerFunc) {
		s.Handle(Route{Method: method, Path: compliancePath + path, Auth: Staff, StaffRole: role, Scope: "admin:write", Idempotent: idem, Handler: h})
	}
	read("/policies", m.policies)
	write("POST", "/policies", accounts.StaffAdmin, true, m.createPolicy)
	read("/policies/{policy_id}", m.policy)
	write("PATCH", "/policies/{policy_id}", accounts.StaffAdmin, false, m.updatePolicy)
	write("POST", "/policies/{policy_id}/versions", accounts.StaffAdmin, true, m.addVersion)
	write("POST", "/policies/{policy_id}/versions/{version_id}/approve", accounts.StaffOwner, false, m.approve)

	read("/evidence", m.evidenceList)
	write("POST", "/evidence", accounts.StaffAdmin, true, m.createEvidence)
	read("/evidence/{evidence_id}", m.evidence)

	read("/vendors", m.vendors)
	write("POST", "/vendors", accounts.StaffAdmin, true, m.createVendor)
	read("/vendors/{vendor_id}", m.vendor)
	write("PATCH", "/vendors/{vendor_id}", accounts.StaffAdmin, false, m.updateVendor)

	read("/access-reviews", m.reviews)
	write("POST", "/access-reviews", accounts.StaffAdmin, true, m.generateReview)
	read("/access-reviews/{review_id}", m.review)
	write("POST", "/access-reviews/{review_id}/sign-off", accounts.StaffOwner, false, m.signOff)

	// Uploads stream the body into the blob store: content-addressed, so
	// repeating one is harmless (no Idempotency-Key needed), and bounded
	// by compliance.upload_limit instead of server.body_limit.
	s.Handle(Route{Method: "POST", Path: compliancePath + "/files", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:write",
		BodyLimit: m.Compliance.UploadLimit() + multipartSlack, Handler: m.upload})
	read("/files/{sha256}", m.download)
	s.Handle(Route{Method: "GET", Path: compliancePath + "/export", Auth: Staff, StaffRole: accounts.StaffAdmin, Scope: "admin:read", Handler: m.export})
}

// multipartSlack is what a multipart upload may add to the file's size
// (boundaries and part headers).
const multipartSlack = 64 << 10

// complianceActor is the staff caller.
func complianceActor(r *http.Request) compliance.Actor {
	p := PrincipalFrom(r.Context())
	if p == nil {
		return compliance.Actor{}
	}
	return compliance.Actor{UserID: p.UserID, Role: p.StaffRole}
}

func (m *ComplianceAPI) policies(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, func(after string, limit int) ([]compliance.Policy, error) {
		return m.Compliance.Policies(r.Context(), after, limit)
	}, securityPolicyView, func(v compliance.Policy) string { return v.ID })
}

// securityPolicyView always has a versions array.
func securityPolicyView(p *compliance.Policy) compliance.Policy {
	v := *p
	if v.Versions == nil {
		v.Versions = []compliance.PolicyVersion{}
	}
	return v
}

func (m *ComplianceAPI) createPolicy(w http.ResponseWriter, r *http.Request) error {
	var in compliance.PolicyInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Compliance.CreatePolicy(r.Context(), complianceActor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, securityPolicyView(p))
}

func (m *ComplianceAPI) policy(w http.ResponseWriter, r *http.Request) error {
	p, err := m.Compliance.Policy(r.Context(), mux.Vars(r)["policy_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, securityPolicyView(p))
}

func (m *ComplianceAPI) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	var in compliance.PolicyPatch
	if err := Decode(r, &in); err != nil {
		return err
	}
	p, err := m.Compliance.UpdatePolicy(r.Context(), complianceActor(r), mux.Vars(r)["policy_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, securityPolicyView(p))
}

func (m *ComplianceAPI) addVersion(w http.ResponseWriter, r *http.Request) error {
	var in compliance.VersionInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	v, err := m.Compliance.AddPolicyVersion(r.Context(), complianceActor(r), mux.Vars(r)["policy_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (m *ComplianceAPI) approve(w http.ResponseWriter, r *http.Request) error {
	vars := mux.Vars(r)
	v, err := m.Compliance.ApprovePolicyVersion(r.Context(), complianceActor(r), vars["policy_id"], vars["version_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (m *ComplianceAPI) evidenceList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return writePage(w, r, func(after string, limit int) ([]compliance.Evidence, error) {
		return m.Compliance.EvidenceList(r.Context(), compliance.EvidenceFilter{ControlID: q.Get("control_id"), Type: q.Get("type"),
			From: q.Get("from"), To: q.Get("to"), After: after, Limit: limit})
	}, func(e *compliance.Evidence) compliance.Evidence { return *e }, func(v compliance.Evidence) string { return v.ID })
}

func (m *ComplianceAPI) createEvidence(w http.ResponseWriter, r *http.Request) error {
	var in compliance.EvidenceInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	e, err := m.Compliance.CreateEvidence(r.Context(), complianceActor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (m *ComplianceAPI) evidence(w http.ResponseWriter, r *http.Request) error {
	e, err := m.Compliance.Evidence(r.Context(), mux.Vars(r)["evidence_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, e)
}

func (m *ComplianceAPI) vendors(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, func(after string, limit int) ([]compliance.Vendor, error) {
		return m.Compliance.Vendors(r.Context(), after, limit)
	}, func(v *compliance.Vendor) compliance.Vendor { return *v }, func(v compliance.Vendor) string { return v.ID })
}

func (m *ComplianceAPI) createVendor(w http.ResponseWriter, r *http.Request) error {
	var in compliance.VendorInput
	if err := Decode(r, &in); err != nil {
		return err
	}
	v, err := m.Compliance.CreateVendor(r.Context(), complianceActor(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, v)
}

func (m *ComplianceAPI) vendor(w http.ResponseWriter, r *http.Request) error {
	v, err := m.Compliance.Vendor(r.Context(), mux.Vars(r)["vendor_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

func (m *ComplianceAPI) updateVendor(w http.ResponseWriter, r *http.Request) error {
	var in compliance.VendorPatch
	if err := Decode(r, &in); err != nil {
		return err
	}
	v, err := m.Compliance.UpdateVendor(r.Context(), complianceActor(r), mux.Vars(r)["vendor_id"], in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// reviewView always has an entries array (lists carry none).
func reviewView(a *compliance.AccessReview) compliance.AccessReview {
	v := *a
	if v.Entries == nil {
		v.Entries = []compliance.StaffMember{}
	}
	return v
}

func (m *ComplianceAPI) reviews(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, func(after string, limit int) ([]compliance.AccessReview, error) {
		return m.Compliance.AccessReviews(r.Context(), after, limit)
	}, reviewView, func(v compliance.AccessReview) string { return v.ID })
}

func (m *ComplianceAPI) generateReview(w http.ResponseWriter, r *http.Request) error {
	if err := decodeEmpty(r); err != nil {
		return err
	}
	a, err := m.Compliance.GenerateAccessReview(r.Context(), complianceActor(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, reviewView(a))
}

func (m *ComplianceAPI) review(w http.ResponseWriter, r *http.Request) error {
	a, err := m.Compliance.AccessReview(r.Context(), mux.Vars(r)["review_id"])
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reviewView(a))
}

func (m *ComplianceAPI) signOff(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Note string `json:"note"`
	}
	if err := decodeEmpty(r, &in); err != nil {
		return err
	}
	a, err := m.Compliance.SignOffAccessReview(r.Context(), complianceActor(r), mux.Vars(r)["review_id"], in.Note)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, reviewView(a))
}

// decodeEmpty decodes an optional JSON body: none at all is an empty one.
func decodeEmpty(r *http.Request, v ...any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if len(v) == 0 {
		var in struct{}
		return Decode(r, &in)
	}
	return Decode(r, v[0])
}

// UploadView answers an upload.
type UploadView struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Name is the multipart part's file name ("" for a raw body).
	Name string `json:"name"`
	// Created is false when the store already had these bytes.
	Created bool `json:"created"`
}

// upload takes the file as the raw body or as the part "file" of a
// multipart/form-data body; the query's sha256, when given, must match.
func (m *ComplianceAPI) upload(w http.ResponseWriter, r *http.Request) error {
	want := r.URL.Query().Get("sha256")
	var src io.Reader = r.Body
	name := ""
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return apperr.Field("file", "the multipart body cannot be read: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return apperr.Field("file", "is required: a part named \"file\"")
			}
			if err != nil {
				return uploadReadError(err, m.Compliance.UploadLimit())
			}
			if part.FormName() == "file" {
				src, name = part, part.FileName()
				break
			}
		}
	}
	info, created, err := m.Compliance.Upload(r.Context(), complianceActor(r), src, want)
	if err != nil {
		return uploadReadError(err, m.Compliance.UploadLimit())
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	return writeJSON(w, status, UploadView{SHA256: info.SHA256, Size: info.Size, Name: name, Created: created})
}

// uploadReadError turns a body over the route's limit into the upload
// limit's refusal.
func uploadReadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return blob.TooLarge(limit)
	}
	if _, ok := apperr.As(err); !ok && strings.Contains(err.Error(), "multipart") {
		return apperr.Field("file", "the multipart body cannot be read")
	}
	return err
}

func (m *ComplianceAPI) download(w http.ResponseWriter, r *http.Request) error {
	rc, info, err := m.Compliance.Download(r.Context(), mux.Vars(r)["sha256"])
	if err != nil {
		return err
	}
	defer rc.Close()
	name := fileNameParam(r.URL.Query().Get("name"), info.SHA256)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("X-Content-SHA256", info.SHA256)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, blob.Verified(rc, info.SHA256)); err != nil {
		// The status is sent: cut the connection, so the client sees a
		// broken download rather than bytes that look whole.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// fileNameParam is a download's file name: the one asked for, without
// path or quotes, else the hash.
func fileNameParam(n, fallback string) string {
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '/' || r == '\\' || r == 0x7f {
			return -1
		}
		return r
	}, n)
	if n == "" || n == "." || n == ".." || len(n) > 200 {
		return fallback
	}
	return n
}

func (m *ComplianceAPI) export(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	if err := compliance.ExportPeriod(from, to); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": fmt.Sprintf("evidence-%s-%s.zip", from, to)}))
	ew := &exportWriter{w: w}
	if _, err := m.Compliance.Export(r.Context(), complianceActor(r), from, to, ew); err != nil {
		if !ew.wrote {
			h.Del("Content-Disposition")
			return err
		}
		// The zip has begun: cut the connection so the client sees a
		// broken download, never a zip that looks whole.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// exportWriter sends the status with the first bytes of the zip, so an
// error before any is still a problem+json answer.
type exportWriter struct {
	w     http.ResponseWriter
	wrote bool
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.wrote {
		e.wrote = true
		e.w.WriteHeader(http.StatusOK)
	}
	return e.w.Write(p)
}
