package gtpage_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ezscale/platform/plugins/gametracker/gtpage"
)

// TestParseSavedPages: the saved pages give their numbers, and pages
// without the player counts (a redesign, a browser check) are ErrLayout.
func TestParseSavedPages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file    string
		want    *gtpage.Page
		wantErr error
	}{
		{"alive.html", &gtpage.Page{Name: "Rusty Moose |EU Main|", Online: true, Players: 244, MaxPlayers: 275, Map: "Procedural Map", Rank: 1085}, nil},
		{"dead.html", &gtpage.Page{Name: "Rusty Moose |EU Main|", Online: false, Players: 0, MaxPlayers: 275, Map: "Procedural Map"}, nil},
		{"redesigned.html", nil, gtpage.ErrLayout},
		{"not_html.html", nil, gtpage.ErrLayout},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := gtpage.Parse(f)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
