package compliance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ezscale/platform/core/blob"
)

// ManifestFormat names the manifest's format; a reader refuses others.
const ManifestFormat = "ezscale-evidence-export/1"

// ManifestName is the manifest's path in an export.
const ManifestName = "manifest.json"

// Manifest lists the files of an export.
type Manifest struct {
	Format      string    `json:"format"`
	GeneratedAt time.Time `json:"generated_at"`
	From        string    `json:"from"`
	To          string    `json:"to"`
	// AuditHead is the audit chain's head at export time: the export's
	// own audit event.
	AuditHead AuditHead      `json:"audit_head"`
	Files     []ManifestFile `json:"files"`
}

// AuditHead names an audit event of the chain.
type AuditHead struct {
	Seq     int64  `json:"seq"`
	Hash    string `json:"hash"`
	EventID string `json:"event_id"`
}

// ManifestFile is one file of an export.
type ManifestFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// maxManifest bounds the manifest a reader accepts (about 200 bytes a
// file: a million files).
const maxManifest = 256 << 20

// ParseManifest reads a manifest, refusing anything malformed: another
// format, a path that is not a clean relative path inside the zip (or is
// the manifest itself), a duplicate path, a hash that is not a lower-case
// hex SHA-256, a negative size, unknown fields.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifest {
		return nil, fmt.Errorf("manifest: larger than %d bytes", maxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("manifest: data after the JSON object")
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest: format %q, want %q", m.Format, ManifestFormat)
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if !cleanPath(f.Path) || f.Path == ManifestName {
			return nil, fmt.Errorf("manifest: files[%d]: path %q is not a clean relative path", i, f.Path)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("manifest: files[%d]: path %q is listed twice", i, f.Path)
		}
		seen[f.Path] = true
		if !blob.ValidHash(f.SHA256) {
			return nil, fmt.Errorf("manifest: files[%d] (%s): sha256 %q is not a lower-case hex SHA-256", i, f.Path, f.SHA256)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("manifest: files[%d] (%s): negative size", i, f.Path)
		}
	}
	return &m, nil
}

// cleanPath reports whether p is a clean, relative, slash-separated path
// that stays inside the archive.
func cleanPath(p string) bool {
	return p != "" && len(p) <= 1024 && path.Clean(p) == p && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "../") &&
		p != ".." && p != "." && !strings.ContainsAny(p, "\\\x00")
}
