package compliance_test

import (
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/database"
	"github.com/ezscale/platform/core/database/databasetest"
)

const (
	benchFiles    = 1000
	benchFileSize = 100_000 // 1,000 files: 100 MB
)

// peakHeap runs f while sampling the live heap, and returns the most seen.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	return peak.Load()
}

// BenchmarkEvidenceExport streams the export of 1,000 evidence files
// (100 MB, file store, SQLite) to a file, against the baseline of copying
// the same stored files into one file with io.Copy: throughput (MB/s) and
// the peak live heap, which stays flat because nothing is buffered whole.
func BenchmarkEvidenceExport(b *testing.B) {
	tb := setup(b, databasetest.New(b, database.SQLite))
	paths := make([]string, 0, benchFiles)
	buf := make([]byte, benchFileSize)
	for i := range benchFiles {
		_, _ = rand.Read(buf)
		ref := tb.upload(b, "evidence.bin", buf)
		if _, err := tb.c.CreateEvidence(tb.ctx, tb.admin, compliance.EvidenceInput{ControlID: "CC7.2", Type: compliance.TypeLog,
			Title: "log", PeriodFrom: "2026-01-01", PeriodTo: "2026-01-31", File: ref}); err != nil {
			b.Fatalf("evidence %d: %v", i, err)
		}
		paths = append(paths, tb.store.Path(ref.SHA256))
	}
	out := filepath.Join(b.TempDir(), "out")
	run := func(b *testing.B, f func(w io.Writer) error) {
		b.SetBytes(benchFiles * benchFileSize)
		var peak uint64
		for b.Loop() {
			w, err := os.Create(out)
			if err != nil {
				b.Fatal(err)
			}
			p := peakHeap(func() {
				if err := f(w); err != nil {
					b.Fatal(err)
				}
			})
			peak = max(peak, p)
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
	b.Run("export", func(b *testing.B) {
		run(b, func(w io.Writer) error {
			m, err := tb.c.Export(tb.ctx, tb.admin, "2026-01-01", "2026-12-31", w)
			if err == nil && len(m.Files) != benchFiles+4 {
				b.Fatalf("exported %d files, want %d", len(m.Files), benchFiles+4)
			}
			return err
		})
	})
	b.Run("file-copy", func(b *testing.B) {
		run(b, func(w io.Writer) error {
			for _, p := range paths {
				f, err := os.Open(p)
				if err != nil {
					return err
				}
				_, err = io.Copy(w, f)
				f.Close()
				if err != nil {
					return err
				}
			}
			return nil
		})
	})
}
