package main

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/app"
	"github.com/ezscale/platform/core/audit"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

// TestEvidenceExportAndVerify: `ezscale evidence export` writes the
// period's zip from the configured database and blob store; `ezscale
// evidence verify` accepts it, and refuses (exit 1, naming the file) a
// copy whose policy document was changed.
func TestEvidenceExportAndVerify(t *testing.T) {
	t.Parallel()
	databasetest.EachURL(t, func(t *testing.T, _ database.Dialect, url string) {
		dir := t.TempDir()
		cfgPath := filepath.Join(dir, "ezscale.hcl")
		hcl := fmt.Sprintf("database { url = %q }\nblob { dir = %q }\nlog { level = \"error\" }\n", url, filepath.Join(dir, "blobs"))
		if err := os.WriteFile(cfgPath, []byte(hcl), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Database.URL, cfg.Blob.Dir, cfg.Sources = url, filepath.Join(dir, "blobs"), map[string]string{}
		ctx := audit.WithMeta(context.Background(), audit.Meta{ActorType: audit.ActorSystem, ActorID: "test"})
		a, err := app.New(ctx, &cfg, hclog.NewNullLogger())
		if err != nil {
			t.Fatal(err)
		}
		owner, err := a.Accounts.CreateStaff(ctx, "owner@example.test", "correct horse battery staple 42", "owner")
		if err != nil {
			t.Fatal(err)
		}
		actor := compliance.Actor{UserID: owner.ID, Role: "owner"}
		info, _, err := a.Compliance.Upload(ctx, actor, strings.NewReader("%PDF acceptable use policy"), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Compliance.CreatePolicy(ctx, actor, compliance.PolicyInput{Title: "Acceptable Use", OwnerID: owner.ID, NextReview: "2027-01-01",
			Version: compliance.VersionInput{Version: "1", EffectiveDate: "2026-01-01", File: &compliance.FileRef{SHA256: info.SHA256, Name: "aup.pdf"}}}); err != nil {
			t.Fatal(err)
		}
		a.Close()

		zipPath := filepath.Join(dir, "evidence.zip")
		out, err := runCLI(t, "", "--config", cfgPath, "evidence", "export", "--from", "2026-01-01", "--to", "2026-12-31", "-o", zipPath)
		if err != nil || !strings.Contains(out, "wrote "+zipPath) || !strings.Contains(out, "audit chain head seq") {
			t.Fatalf("export: %q, %v", out, err)
		}
		out, err = runCLI(t, "", "evidence", "verify", zipPath)
		if err != nil || !strings.HasPrefix(out, "evidence export intact: 5 files match the manifest (2026-01-01 to 2026-12-31") {
			t.Fatalf("verify: %q, %v", out, err)
		}

		tampered := filepath.Join(dir, "tampered.zip")
		changed := tamper(t, zipPath, tampered, "aup.pdf", []byte("%PDF acceptable use policy, amended"))
		_, err = runCLI(t, "", "evidence", "verify", tampered)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "NOT intact") || !strings.Contains(ee.msg, changed+": 35 bytes, the manifest says 26") {
			t.Fatalf("verify of a tampered export: %v", err)
		}
		_, err = runCLI(t, "", "evidence", "verify", cfgPath)
		if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "NOT valid") {
			t.Fatalf("verify of a file that is no zip: %v", err)
		}
	})
}

// tamper copies the zip at src to dst with the entry whose name ends in
// suffix replaced by body, and returns that entry's name.
func tamper(t *testing.T, src, dst, suffix string, body []byte) string {
	t.Helper()
	zr, err := zip.OpenReader(src)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	changed := ""
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if strings.HasSuffix(f.Name, suffix) {
			b, changed = body, f.Name
		}
		w, _ := zw.Create(f.Name)
		_, _ = w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return changed
}
