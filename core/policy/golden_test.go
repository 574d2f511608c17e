package policy

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files of TestGoldenErrors")

// TestGoldenErrors compiles each testdata/errors/*.expr against testEnv as a
// bool rule and compares the error, with its position and snippet, to the
// .golden file beside it (go test -run TestGoldenErrors -update rewrites
// them).
func TestGoldenErrors(t *testing.T) {
	t.Parallel()

	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.expr"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/errors/*.expr files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".expr")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Compile[testEnv, bool](string(src))
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Compile error = %v, want *Error", err)
			}
			if perr.Line < 1 || perr.Column < 1 {
				t.Errorf("position %d:%d, want both ≥ 1", perr.Line, perr.Column)
			}
			got := perr.Format() + "\n"
			golden := strings.TrimSuffix(file, ".expr") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("error of %s (-want +got):\n%s", file, diff)
			}
		})
	}
}
