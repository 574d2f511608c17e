package app

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ezscale/platform/config"
	"github.com/ezscale/platform/core/accounts"
	"github.com/ezscale/platform/core/approval"
	"github.com/ezscale/platform/core/billing"
	"github.com/ezscale/platform/core/blob"
	"github.com/ezscale/platform/core/community"
	"github.com/ezscale/platform/core/compliance"
	"github.com/ezscale/platform/core/jobs"
	"github.com/ezscale/platform/core/notify"
	"github.com/ezscale/platform/core/pluginhost"
	"github.com/ezscale/platform/core/provisioning"
	"github.com/ezscale/platform/core/scheduler"
	"github.com/ezscale/platform/core/services"
	"github.com/ezscale/platform/core/transfers"
)

// TestDefaultConfigGivesEachDomainItsDefaults: with nothing configured the
// core runs each domain with that domain's DefaultOptions, which is what the
// domains' own tests start from. A setting the mapping forgets, or a default
// that config and a domain state differently, fails here.
func TestDefaultConfigGivesEachDomainItsDefaults(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	// What is not a setting of the domain: links under the public URL,
	// feature switches that are off unless configured, and the policy of
	// reaching private addresses.
	notSettings := cmp.Options{
		cmpopts.IgnoreFields(accounts.Options{}, "PublicURL"),
		cmpopts.IgnoreFields(provisioning.Options{}, "PublicURL"),
		cmpopts.IgnoreFields(notify.Options{}, "PublicURL"),
		cmpopts.IgnoreFields(scheduler.Options{}, "AllowPrivate"),
		cmpopts.IgnoreUnexported(pluginhost.Options{}),
		cmpopts.EquateEmpty(),
	}
	for _, c := range []struct {
		domain    string
		got, want any
	}{
		{"jobs", jobsOptions(&cfg), jobs.DefaultOptions()},
		{"accounts", accountsOptions(&cfg), accounts.DefaultOptions()},
		{"pluginhost", pluginhostOptions(&cfg), pluginhost.DefaultOptions()},
		{"billing", billingOptions(&cfg), billing.DefaultOptions()},
		{"services", servicesOptions(&cfg), services.DefaultOptions()},
		{"scheduler", schedulerOptions(&cfg), scheduler.DefaultOptions()},
		{"provisioning", provisioningOptions(&cfg), provisioning.DefaultOptions()},
		{"notify", notifyOptions(&cfg), notify.DefaultOptions()},
		{"community", communityOptions(&cfg), community.DefaultOptions()},
		{"blob", blobOptions(&cfg), blob.DefaultOptions()},
		{"compliance", complianceOptions(&cfg), compliance.DefaultOptions()},
		{"transfers", transfersOptions(&cfg), transfers.DefaultOptions()},
		{"approval", approvalOptions(&cfg), approval.DefaultOptions()},
	} {
		if diff := cmp.Diff(c.want, c.got, notSettings); diff != "" {
			t.Errorf("%s: a default configuration's settings differ from the domain's defaults (-domain +configured):\n%s", c.domain, diff)
		}
	}
}
