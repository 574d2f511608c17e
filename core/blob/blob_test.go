package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/core/apperr"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/blob/blobtest"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// eachBackend runs f against a file store and a store in a real
// S3-compatible server.
func eachBackend(t *testing.T, f func(t *testing.T, s *blob.Store)) {
	t.Run("file", func(t *testing.T) {
		t.Parallel()
		f(t, blobtest.Dir(t))
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		s, err := blob.Open(context.Background(), blobtest.S3(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		f(t, s)
	})
}

func TestPutIsContentAddressedAndNeverOverwrites(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, s *blob.Store) {
		ctx := context.Background()
		data := []byte("security policy v1\n")
		info, created, err := s.Put(ctx, bytes.NewReader(data), "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(blob.Info{SHA256: sum(data), Size: int64(len(data))}, info); diff != "" || !created {
			t.Fatalf("first put (created %v), -want +got:\n%s", created, diff)
		}
		// The same bytes again, with their hash named: a no-op.
		again, created, err := s.Put(ctx, bytes.NewReader(data), sum(data), 0)
		if err != nil || created || again != info {
			t.Fatalf("second put = %+v, created %v, %v; want the same blob, not created", again, created, err)
		}
		rc, got, err := s.Open(ctx, info.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(blob.Verified(rc, info.SHA256))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, data) || got != info {
			t.Fatalf("read %q (%+v), want %q (%+v)", b, got, data, info)
		}
		if st, err := s.Stat(ctx, info.SHA256); err != nil || st != info {
			t.Fatalf("stat = %+v, %v", st, err)
		}
		if _, err := s.Stat(ctx, sum([]byte("absent"))); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("stat of an absent blob: %v, want not found", err)
		}
	})
}

func TestPutRefusesBytesThatDoNotMatchTheirHash(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, s *blob.Store) {
		ctx := context.Background()
		claimed := sum([]byte("what the client meant to send"))
		_, _, err := s.Put(ctx, strings.NewReader("what arrived"), claimed, 0)
		e, ok := apperr.As(err)
		if !ok || e.Code != apperr.Unprocessable || e.Reason != "sha256_mismatch" || len(e.Fields) != 1 || e.Fields[0].Field != "sha256" {
			t.Fatalf("mismatched upload: %v, want unprocessable sha256_mismatch on field sha256", err)
		}
		for _, h := range []string{claimed, sum([]byte("what arrived"))} {
			if _, err := s.Stat(ctx, h); apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("after a refused upload, blob %s: %v, want not found", h, err)
			}
		}
	})
}

func TestPutRefusesMoreThanTheLimit(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, s *blob.Store) {
		_, _, err := s.Put(context.Background(), bytes.NewReader(make([]byte, 11)), "", 10)
		if !errors.Is(err, blob.ErrTooLarge) || apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("11 bytes with a limit of 10: %v, want ErrTooLarge", err)
		}
		if _, _, err := s.Put(context.Background(), bytes.NewReader(make([]byte, 10)), "", 10); err != nil {
			t.Fatalf("10 bytes with a limit of 10: %v", err)
		}
	})
}

func TestVerifiedReaderDetectsAChangedFile(t *testing.T) {
	t.Parallel()
	s := blobtest.Dir(t)
	ctx := context.Background()
	info, _, err := s.Put(ctx, strings.NewReader("original"), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(info.SHA256), []byte("tampered"), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Open(ctx, info.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadAll(blob.Verified(rc, info.SHA256)); err == nil || !strings.Contains(err.Error(), "changed outside the store") {
		t.Fatalf("reading a changed blob: %v, want an error", err)
	}
}
