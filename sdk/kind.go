package sdk

import "github.com/ezscale/platform/sdk/pluginv1"

// Kind names a plugin kind: one of the services a plugin can implement.
// Serve derives a plugin's kinds from the interfaces it implements.
type Kind string

// Plugin kinds. Append-only.
const (
	KindProvisioner    Kind = "provisioner"
	KindNotifier       Kind = "notifier"
	KindCommunity      Kind = "community"
	KindPaymentGateway Kind = "payment_gateway"
	KindMonitor        Kind = "monitor"
	KindAssistant      Kind = "assistant"
	KindHelpdesk       Kind = "helpdesk"
	KindPricingSource  Kind = "pricing_source"
)

var kindToProto = map[Kind]pluginv1.PluginKind{
	KindProvisioner:    pluginv1.PluginKind_PLUGIN_KIND_PROVISIONER,
	KindNotifier:       pluginv1.PluginKind_PLUGIN_KIND_NOTIFIER,
	KindCommunity:      pluginv1.PluginKind_PLUGIN_KIND_COMMUNITY,
	KindPaymentGateway: pluginv1.PluginKind_PLUGIN_KIND_PAYMENT_GATEWAY,
	KindMonitor:        pluginv1.PluginKind_PLUGIN_KIND_MONITOR,
	KindAssistant:      pluginv1.PluginKind_PLUGIN_KIND_ASSISTANT,
	KindHelpdesk:       pluginv1.PluginKind_PLUGIN_KIND_HELPDESK,
	KindPricingSource:  pluginv1.PluginKind_PLUGIN_KIND_PRICING_SOURCE,
}

// KindFromProto converts a wire kind; unknown values (appended after this SDK
// was built) return "".
func KindFromProto(k pluginv1.PluginKind) Kind {
	for kind, p := range kindToProto {
		if p == k {
			return kind
		}
	}
	return ""
}

// Proto converts the kind to its wire value.
func (k Kind) Proto() pluginv1.PluginKind { return kindToProto[k] }

// Capability names an optional feature. Serve derives a plugin's
// capabilities from the optional interfaces it implements; a capability that
// is not described answers NotSupported.
type Capability string

// Provisioner capabilities, one per optional interface. Append-only.
const (
	CapRenew         Capability = "provisioner.renew"
	CapChangePlan    Capability = "provisioner.change_plan"
	CapResetPassword Capability = "provisioner.reset_password"
	CapListAccounts  Capability = "provisioner.list_accounts"
	CapUsage         Capability = "provisioner.usage"
	CapPower         Capability = "provisioner.power"
	CapSnapshot      Capability = "provisioner.snapshot"
	CapBackup        Capability = "provisioner.backup"
	CapLoginURL      Capability = "provisioner.login_url"
	CapActions       Capability = "provisioner.actions"
	CapRunScript     Capability = "provisioner.run_script"
	CapCapacity      Capability = "provisioner.capacity"
)

// Monitor capabilities, one per optional interface. Append-only.
const (
	// CapPlayerHistory: the provider keeps player-count history
	// (PlayerHistoryReporter).
	CapPlayerHistory Capability = "monitor.player_history"
)

// ProvisionerCapabilities lists every optional provisioner capability.
func ProvisionerCapabilities() []Capability {
	return []Capability{
		CapRenew, CapChangePlan, CapResetPassword, CapListAccounts, CapUsage, CapPower,
		CapSnapshot, CapBackup, CapLoginURL, CapActions, CapRunScript, CapCapacity,
	}
}
