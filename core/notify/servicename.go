package notify

import (
	"encoding/json"
	"strings"
)

// ServiceName is how every notification names a service (the data key
// service_name, and name in a list of services): the customer's label;
// else its plan's name with its hostname ("VPS 4 GB (web1.example.com)");
// else the plan's name, or the hostname. Never the service's id, which
// means nothing to the reader. Callers in billing, budget caps, the
// scheduler and provisioning pass what they have of the service.
func ServiceName(label, plan, hostname string) string {
	if label = strings.TrimSpace(label); label != "" {
		return label
	}
	plan, hostname = strings.TrimSpace(plan), strings.TrimSpace(hostname)
	switch {
	case plan != "" && hostname != "":
		return plan + " (" + hostname + ")"
	case plan != "":
		return plan
	case hostname != "":
		return hostname
	}
	return "your service"
}

// Hostname returns the "hostname" of the first of the JSON objects that
// has a non-empty one: a service's attributes (what its provisioner
// reported), then its options (what the customer asked for).
func Hostname(objects ...string) string {
	for _, o := range objects {
		var m map[string]any
		if json.Unmarshal([]byte(o), &m) != nil {
			continue
		}
		if h, ok := m["hostname"].(string); ok && strings.TrimSpace(h) != "" {
			return strings.TrimSpace(h)
		}
	}
	return ""
}
