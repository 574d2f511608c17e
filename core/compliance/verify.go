package compliance

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
)

// Report is what Verify found.
type Report struct {
	Manifest *Manifest
	// Checked counts the files that matched the manifest.
	Checked int
	// Problems name each file missing, extra, of another size or hash;
	// empty when the export is intact.
	Problems []string
}

// OK reports whether the export is intact.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Verify checks an export zip against its manifest: every listed file is
// present with its size and SHA-256, and nothing else is in the zip. A zip
// without a readable manifest is an error; a file that does not match is
// a problem in the report.
func Verify(r io.ReaderAt, size int64) (*Report, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a readable zip: %w", err)
	}
	entries := map[string]*zip.File{}
	rep := &Report{}
	var mf *zip.File
	for _, f := range zr.File {
		if f.Name == ManifestName {
			if mf != nil {
				rep.Problems = append(rep.Problems, "manifest.json is in the zip twice")
				continue
			}
			mf = f
			continue
		}
		if _, dup := entries[f.Name]; dup {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: in the zip twice", f.Name))
			continue
		}
		entries[f.Name] = f
	}
	if mf == nil {
		return nil, fmt.Errorf("the zip has no %s", ManifestName)
	}
	rc, err := mf.Open()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ManifestName, err)
	}
	data, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
	_ = rc.Close()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ManifestName, err)
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, err
	}
	rep.Manifest = m
	buf := make([]byte, 256<<10)
	for _, want := range m.Files {
		f, ok := entries[want.Path]
		if !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: missing from the zip", want.Path))
			continue
		}
		delete(entries, want.Path)
		got, n, err := hashEntry(f, buf)
		switch {
		case err != nil:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: unreadable: %v", want.Path, err))
		case n != want.Size:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: %d bytes, the manifest says %d", want.Path, n, want.Size))
		case got != want.SHA256:
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: SHA-256 %s, the manifest says %s", want.Path, got, want.SHA256))
		default:
			rep.Checked++
		}
	}
	extra := make([]string, 0, len(entries))
	for name := range entries {
		extra = append(extra, name)
	}
	sort.Strings(extra)
	for _, name := range extra {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%s: in the zip but not in the manifest", name))
	}
	return rep, nil
}

func hashEntry(f *zip.File, buf []byte) (string, int64, error) {
	rc, err := f.Open()
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	// The zip's own CRC check runs at EOF; a corrupt entry is an error.
	n, err := io.CopyBuffer(h, rc, buf)
	if err != nil {
		return "", n, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
