package main

import (
	"testing"

	"github.com/ezscale/platform/sdk"
)

// TestOptionsDeclareTheImage: the workspace image is the one option; staff
// set it on plans and a customer may choose among the images a plan
// offers; anything but an image id is refused by the plugin too.
func TestOptionsDeclareTheImage(t *testing.T) {
	t.Parallel()
	opts := New().Describe().Options
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(opts) != 1 || opts[0].Key != "image_id" || !opts[0].Plan || !opts[0].Order {
		t.Errorf("declared options %+v, want image_id set on plans and chosen at order", opts)
	}
	_, err := settings{}.image(map[string]string{"image_id": "../../etc/passwd"})
	if e, ok := err.(*sdk.Error); !ok || e.Kind != sdk.InvalidInput || e.Field != "plan_options.image_id" {
		t.Errorf("a path for image_id: %v, want InvalidInput naming plan_options.image_id", err)
	}
	if id, err := (settings{}).image(map[string]string{"image_id": "01366DF3-A03B-4BCC-BB8C-913846594826"}); err != nil || id != "01366df3a03b4bccbb8c913846594826" {
		t.Errorf("a UUID image id: %q, %v", id, err)
	}
}
