package notify_test

import (
	"testing"

	"github.com/ezscale/platform/core/notify"
)

// TestServiceName: notices name a service by its label, else by its
// plan's name and hostname, and never by its id.
func TestServiceName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		label, plan, hostname, want string
	}{
		{"mc-survival", "Game 4 GB", "mc.example.com", "mc-survival"},
		{"  ", "VPS 4 GB", "web1.example.com", "VPS 4 GB (web1.example.com)"},
		{"", "VPS 4 GB", "", "VPS 4 GB"},
		{"", "", "web1.example.com", "web1.example.com"},
		{"", "", "", "your service"},
	} {
		if got := notify.ServiceName(tc.label, tc.plan, tc.hostname); got != tc.want {
			t.Errorf("ServiceName(%q, %q, %q) = %q, want %q", tc.label, tc.plan, tc.hostname, got, tc.want)
		}
	}
	for _, tc := range []struct {
		objects []string
		want    string
	}{
		{[]string{`{"hostname": "vm-1.node"}`, `{"hostname": "asked.example.com"}`}, "vm-1.node"},
		{[]string{`{}`, `{"hostname": "asked.example.com", "location": "fra"}`}, "asked.example.com"},
		{[]string{`not json`, `{"hostname": 7}`, `{"hostname": " "}`}, ""},
	} {
		if got := notify.Hostname(tc.objects...); got != tc.want {
			t.Errorf("Hostname(%q) = %q, want %q", tc.objects, got, tc.want)
		}
	}
}
