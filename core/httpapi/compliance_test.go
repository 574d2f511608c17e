package httpapi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// send makes a request with a body of its own content type through the
// validating client.
func (c *apiClient) send(method, path, token, contentType string, body []byte) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func multipartFile(t *testing.T, name string, data []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), buf.Bytes()
}

// TestComplianceOverTheAPI: through the API (every response checked
// against the OpenAPI document) an admin uploads a policy document (raw
// and multipart, the same bytes once), records the policy, and only a
// staff owner approves its version; a mismatched or oversized upload is
// refused and stores nothing (a multipart body without its file part
// names the field); support staff read but cannot change; the
// export streams a zip that verifies, with the approved document in it.
func TestComplianceOverTheAPI(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, d database.Dialect, url string) {
		tb := startApp(t, d, url, func(c *config.Config) { c.Compliance.UploadLimit = 1 << 10 })
		admin, owner, support := tb.newStaff(t, "admin"), tb.newStaff(t, "owner"), tb.newStaff(t, "support")
		c := tb.client
		base := "/api/v1/admin/compliance"
		doc := []byte("%PDF-1.7 information security policy")
		sum := sha256.Sum256(doc)
		hash := hex.EncodeToString(sum[:])

		var up struct {
			SHA256  string `json:"sha256"`
			Created bool   `json:"created"`
		}
		c.send("POST", base+"/files?sha256="+hash, admin.Token, "application/pdf", doc).want(t, http.StatusCreated).decode(t, &up)
		if up.SHA256 != hash || !up.Created {
			t.Fatalf("upload = %+v", up)
		}
		ct, body := multipartFile(t, "isp.pdf", doc)
		c.send("POST", base+"/files", admin.Token, ct, body).want(t, http.StatusOK).decode(t, &up)
		if up.Created {
			t.Fatalf("the same bytes again: created = true")
		}
		p := c.send("POST", base+"/files?sha256="+strings.Repeat("0", 64), admin.Token, "application/pdf", []byte("other")).wantProblem(t, http.StatusUnprocessableEntity, "sha256_mismatch")
		if len(p.Errors) != 1 || p.Errors[0].Field != "sha256" {
			t.Fatalf("mismatch problem names %+v, want sha256", p.Errors)
		}
		p = c.send("POST", base+"/files", admin.Token, "application/octet-stream", bytes.Repeat([]byte{1}, 1<<10+1)).wantProblem(t, http.StatusBadRequest, "file_too_large")
		if len(p.Errors) != 1 || p.Errors[0].Field != "file" {
			t.Fatalf("too large problem names %+v, want file", p.Errors)
		}
		var noFile bytes.Buffer
		mw := multipart.NewWriter(&noFile)
		_ = mw.WriteField("note", "no file here")
		_ = mw.Close()
		p = c.send("POST", base+"/files", admin.Token, mw.FormDataContentType(), noFile.Bytes()).wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "file" {
			t.Fatalf("multipart without a file names %+v, want file", p.Errors)
		}
		c.send("POST", base+"/files", support.Token, "application/pdf", doc).wantProblem(t, http.StatusForbidden, "forbidden")
		if n := tb.count(t, "audit_events", "action = ?", "compliance.file.upload"); n != 2 {
			t.Fatalf("%d uploads audited, want the 2 accepted", n)
		}

		in := map[string]any{"title": "Information Security Policy", "owner_id": owner.ID, "next_review": "2027-01-01",
			"version": map[string]any{"version": "1.0", "effective_date": "2026-01-01", "file": map[string]any{"sha256": hash, "name": "isp.pdf"}}}
		c.do("POST", base+"/policies", support.Token, in, "Idempotency-Key", "p0").wantProblem(t, http.StatusForbidden, "forbidden")
		var pol compliance.Policy
		c.do("POST", base+"/policies", admin.Token, in, "Idempotency-Key", "p1").want(t, http.StatusCreated).decode(t, &pol)
		bad := map[string]any{"title": "x", "owner_id": owner.ID, "next_review": "soon",
			"version": map[string]any{"version": "1", "effective_date": "2026-01-01", "file": map[string]any{"sha256": strings.Repeat("1", 64), "name": "x.pdf"}}}
		p = c.do("POST", base+"/policies", admin.Token, bad, "Idempotency-Key", "p2").wantProblem(t, http.StatusBadRequest, "invalid")
		var named []string
		for _, e := range p.Errors {
			named = append(named, e.Field)
		}
		if diff := cmp.Diff([]string{"next_review", "version.file.sha256"}, named); diff != "" {
			t.Fatalf("invalid policy fields (-want +got):\n%s", diff)
		}

		approve := base + "/policies/" + pol.ID + "/versions/" + pol.Versions[0].ID + "/approve"
		c.do("POST", approve, admin.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		var v compliance.PolicyVersion
		c.do("POST", approve, owner.Token, nil).want(t, http.StatusOK).decode(t, &v)
		if v.ApprovedBy == nil || *v.ApprovedBy != owner.ID {
			t.Fatalf("approved by %v, want the owner", v.ApprovedBy)
		}
		c.do("POST", approve, owner.Token, nil).wantProblem(t, http.StatusConflict, "already_approved")
		c.do("GET", base+"/policies", support.Token, nil).want(t, http.StatusOK)
		got := c.do("GET", base+"/files/"+hash+"?name=isp.pdf", support.Token, nil).want(t, http.StatusOK)
		if !bytes.Equal(got.Body, doc) || !strings.Contains(got.Header.Get("Content-Disposition"), "isp.pdf") {
			t.Fatalf("download: %q, %q", got.Body, got.Header.Get("Content-Disposition"))
		}
		c.do("GET", base+"/files/"+strings.Repeat("2", 64), support.Token, nil).wantProblem(t, http.StatusNotFound, "not_found")

		c.do("GET", base+"/export?from=2026-01-01&to=2026-12-31", support.Token, nil).wantProblem(t, http.StatusForbidden, "forbidden")
		p = c.do("GET", base+"/export?from=2026-12-31&to=2026-01-01", admin.Token, nil).wantProblem(t, http.StatusBadRequest, "invalid")
		if len(p.Errors) != 1 || p.Errors[0].Field != "to" {
			t.Fatalf("reversed period names %+v, want to", p.Errors)
		}
		zipResp := c.do("GET", base+"/export?from=2026-01-01&to=2026-12-31", admin.Token, nil).want(t, http.StatusOK)
		if ct := zipResp.Header.Get("Content-Type"); ct != "application/zip" {
			t.Fatalf("export content type %q", ct)
		}
		rep, err := compliance.Verify(bytes.NewReader(zipResp.Body), int64(len(zipResp.Body)))
		if err != nil {
			t.Fatal(err)
		}
		var docs []string
		for _, f := range rep.Manifest.Files {
			if f.SHA256 == hash {
				docs = append(docs, f.Path[strings.LastIndex(f.Path, "-")+1:])
			}
		}
		if !rep.OK() || len(docs) != 1 || docs[0] != "isp.pdf" {
			t.Fatalf("export: problems %v, policy documents %v", rep.Problems, docs)
		}
	})
}
