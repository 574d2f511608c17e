package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// The handshake between the core and a plugin. The core and every plugin
// built with this SDK use the same values; a plugin built for protocol 2
// is refused by a core that speaks 1, and vice versa.
const (
	// ProtocolVersion is the plugin protocol version: the "v1" of the proto
	// package ezscale.plugin.v1. It changes only with a new proto package.
	ProtocolVersion = 1
	// MagicCookieKey and MagicCookieValue tell a plugin it was started by
	// the core (not by hand). Not a security measure.
	MagicCookieKey   = "EZSCALE_PLUGIN_MAGIC_COOKIE"
	MagicCookieValue = "5d1c6b0e7f0b4a8c9e2f3a1b6c7d8e9f-ezscale-plugin"
	// PluginName is the key of the single entry in go-plugin's plugin set.
	PluginName = "ezscale"
)

// sdkVersion is reported in Describe for support.
const sdkVersion = "v0.1.0"

// Handshake returns the go-plugin handshake the core and plugins share.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   MagicCookieKey,
		MagicCookieValue: MagicCookieValue,
	}
}

// GRPCPlugin adapts the protocol to go-plugin. On the plugin side it
// registers the services of Impl (Serve does this); on the host side,
// GRPCClient returns the plugin's *grpc.ClientConn, from which the New*Client
// functions build typed clients.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the plugin implementation; nil on the host side.
	Impl Plugin

	srv *server
}

// GRPCServer registers Impl's services on s. Serve installs the SDK's
// interceptor on s; when GRPCPlugin is used on its own, errors are still
// encoded by the client but panics are not recovered.
func (g *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if g.srv == nil {
		srv, err := newServer(g.Impl, nil)
		if err != nil {
			return err
		}
		g.srv = srv
	}
	g.srv.register(s)
	return nil
}

// GRPCClient returns the plugin's connection.
func (g *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return cc, nil
}

// PluginSet returns the go-plugin plugin set for the host side.
func PluginSet() plugin.PluginSet {
	return plugin.PluginSet{PluginName: &GRPCPlugin{}}
}

// ReattachConfig tells the core how to reach a plugin that was started by
// hand (debug mode) instead of by the core. It is what a plugin in debug
// mode prints, and what the core reads from EZSCALE_REATTACH_PLUGINS (a JSON
// object of plugin name → ReattachConfig).
type ReattachConfig struct {
	Protocol        string `json:"protocol"`
	ProtocolVersion int    `json:"protocol_version"`
	Network         string `json:"network"`
	Addr            string `json:"addr"`
	Pid             int    `json:"pid"`
}

// ReattachEnv is the environment variable the core reads reattach configs
// from, as in EZSCALE_REATTACH_PLUGINS='{"email":{…}}'.
const ReattachEnv = "EZSCALE_REATTACH_PLUGINS"

func reattachFromGoPlugin(c *plugin.ReattachConfig) ReattachConfig {
	return ReattachConfig{
		Protocol:        string(c.Protocol),
		ProtocolVersion: c.ProtocolVersion,
		Network:         c.Addr.Network(),
		Addr:            c.Addr.String(),
		Pid:             c.Pid,
	}
}

// GoPlugin converts to go-plugin's form for plugin.ClientConfig.Reattach.
func (r ReattachConfig) GoPlugin() (*plugin.ReattachConfig, error) {
	var addr net.Addr
	var err error
	switch r.Network {
	case "unix":
		addr, err = net.ResolveUnixAddr("unix", r.Addr)
	case "tcp", "":
		addr, err = net.ResolveTCPAddr("tcp", r.Addr)
	default:
		return nil, fmt.Errorf("reattach: unknown network %q", r.Network)
	}
	if err != nil {
		return nil, fmt.Errorf("reattach: %w", err)
	}
	return &plugin.ReattachConfig{
		Protocol:        plugin.Protocol(r.Protocol),
		ProtocolVersion: r.ProtocolVersion,
		Addr:            addr,
		Pid:             r.Pid,
		Test:            true,
	}, nil
}

// ParseReattachEnv parses the value of EZSCALE_REATTACH_PLUGINS.
func ParseReattachEnv(v string) (map[string]ReattachConfig, error) {
	out := map[string]ReattachConfig{}
	if v == "" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("%s: %w", ReattachEnv, err)
	}
	return out, nil
}
