package scheduler

import (
	"fmt"
	"net/netip"
	"strings"
)

// Auto-recovery probes are customer input pointed at the network the core
// runs in, so a probe may reach only public unicast addresses. The tables
// below are the IANA IPv4 and IPv6 Special-Purpose Address Registries
// (RFC 6890 and its updates) in full, plus multicast; none of their blocks
// is a customer's server, including the few the registries call globally
// reachable (anycast services, AS112), so every one is refused. IPv6 must
// also be inside 2000::/3, the only block IANA allocates for global unicast
// (RFC 4291): everything else is reserved, unique-local, link-local or
// multicast.
//
// Embedded IPv4 addresses are unwrapped first: an IPv4-mapped address is
// checked as the IPv4 address it is; NAT64 (64:ff9b::/96, 64:ff9b:1::/48),
// 6to4, Teredo, ISATAP interface identifiers and the deprecated
// IPv4-compatible form have their IPv4 checked too, so "2002:7f00:1::" is
// refused as wrapping 127.0.0.1 (it is refused as 6to4 anyway; ISATAP can
// sit under any global prefix, so for it the unwrapping is what refuses).
// Operator-chosen NAT64 prefixes (RFC 6052 network-specific prefixes)
// cannot be told from ordinary addresses; a deployment that has one should
// keep it unreachable from the core.

// specialRange is one block of the registries.
type specialRange struct {
	prefix netip.Prefix
	name   string
	rfc    string
}

func sr(prefix, name, rfc string) specialRange {
	return specialRange{prefix: netip.MustParsePrefix(prefix), name: name, rfc: rfc}
}

// specialIPv4 is the IANA IPv4 Special-Purpose Address Registry, plus
// multicast (IPv4 Multicast Address Space Registry).
var specialIPv4 = []specialRange{
	sr("0.0.0.0/8", "\"this network\"", "RFC 791"),
	sr("0.0.0.0/32", "\"this host on this network\"", "RFC 1122"),
	sr("10.0.0.0/8", "private-use", "RFC 1918"),
	sr("100.64.0.0/10", "shared address space (carrier-grade NAT; cloud metadata)", "RFC 6598"),
	sr("127.0.0.0/8", "loopback", "RFC 1122"),
	sr("169.254.0.0/16", "link-local (cloud metadata)", "RFC 3927"),
	sr("172.16.0.0/12", "private-use", "RFC 1918"),
	sr("192.0.0.0/24", "IETF protocol assignments", "RFC 6890"),
	sr("192.0.0.0/29", "IPv4 service continuity prefix", "RFC 7335"),
	sr("192.0.0.8/32", "IPv4 dummy address", "RFC 7600"),
	sr("192.0.0.9/32", "Port Control Protocol anycast", "RFC 7723"),
	sr("192.0.0.10/32", "TURN anycast", "RFC 8155"),
	sr("192.0.0.170/32", "NAT64/DNS64 discovery", "RFC 8880"),
	sr("192.0.0.171/32", "NAT64/DNS64 discovery", "RFC 8880"),
	sr("192.0.2.0/24", "documentation (TEST-NET-1)", "RFC 5737"),
	sr("192.31.196.0/24", "AS112-v4", "RFC 7535"),
	sr("192.52.193.0/24", "AMT", "RFC 7450"),
	sr("192.88.99.0/24", "deprecated 6to4 relay anycast", "RFC 7526"),
	sr("192.168.0.0/16", "private-use", "RFC 1918"),
	sr("192.175.48.0/24", "direct delegation AS112 service", "RFC 7534"),
	sr("198.18.0.0/15", "benchmarking", "RFC 2544"),
	sr("198.51.100.0/24", "documentation (TEST-NET-2)", "RFC 5737"),
	sr("203.0.113.0/24", "documentation (TEST-NET-3)", "RFC 5737"),
	sr("224.0.0.0/4", "multicast", "RFC 5771"),
	sr("240.0.0.0/4", "reserved", "RFC 1112"),
	sr("255.255.255.255/32", "limited broadcast", "RFC 919, RFC 8190"),
}

// specialIPv6 is the IANA IPv6 Special-Purpose Address Registry, plus
// multicast.
var specialIPv6 = []specialRange{
	sr("::/128", "unspecified", "RFC 4291"),
	sr("::1/128", "loopback", "RFC 4291"),
	sr("::ffff:0:0/96", "IPv4-mapped", "RFC 4291"),
	sr("64:ff9b::/96", "IPv4-IPv6 translation (NAT64)", "RFC 6052"),
	sr("64:ff9b:1::/48", "IPv4-IPv6 translation, local use (NAT64)", "RFC 8215"),
	sr("100::/64", "discard-only", "RFC 6666"),
	sr("100:0:0:1::/64", "dummy IPv6 prefix", "RFC 9780"),
	sr("2001::/23", "IETF protocol assignments", "RFC 2928"),
	sr("2001::/32", "Teredo", "RFC 4380, RFC 8190"),
	sr("2001:1::1/128", "Port Control Protocol anycast", "RFC 7723"),
	sr("2001:1::2/128", "TURN anycast", "RFC 8155"),
	sr("2001:1::3/128", "DNS-SD service registration protocol anycast", "RFC 9665"),
	sr("2001:2::/48", "benchmarking", "RFC 5180"),
	sr("2001:3::/32", "AMT", "RFC 7450"),
	sr("2001:4:112::/48", "AS112-v6", "RFC 7535"),
	sr("2001:10::/28", "deprecated ORCHID", "RFC 4843"),
	sr("2001:20::/28", "ORCHIDv2", "RFC 7343"),
	sr("2001:30::/28", "drone remote ID protocol entity tags", "RFC 9374"),
	sr("2001:db8::/32", "documentation", "RFC 3849"),
	sr("2002::/16", "6to4", "RFC 3056"),
	sr("2620:4f:8000::/48", "direct delegation AS112 service", "RFC 7534"),
	sr("3fff::/20", "documentation", "RFC 9637"),
	sr("5f00::/16", "segment routing (SRv6) SIDs", "RFC 9602"),
	sr("fc00::/7", "unique-local", "RFC 4193, RFC 8190"),
	sr("fe80::/10", "link-local unicast", "RFC 4291"),
	sr("ff00::/8", "multicast", "RFC 4291"),
}

var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// mostSpecific returns the longest block of table that holds ip.
func mostSpecific(table []specialRange, ip netip.Addr) (specialRange, bool) {
	var best specialRange
	found := false
	for _, r := range table {
		if r.prefix.Contains(ip) && (!found || r.prefix.Bits() > best.prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// blockedReason says why a probe may not reach ip, or "" when it may: ip
// (or an IPv4 address it wraps) is in a special-purpose block, or it is
// IPv6 outside global unicast, or it carries a zone. The reason names the
// block and its RFC; it is for logs and for the customer who typed the
// address, never for an address the core resolved.
func blockedReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not an IP address"
	}
	if ip.Zone() != "" {
		return "a scoped (zoned) address"
	}
	ip = ip.Unmap()
	if ip.Is4() {
		if r, ok := mostSpecific(specialIPv4, ip); ok {
			return fmt.Sprintf("%s is in %s, %s (%s)", ip, r.prefix, r.name, r.rfc)
		}
		return ""
	}
	for _, w := range embeddedIPv4(ip) {
		if reason := blockedReason(w.v4); reason != "" {
			return fmt.Sprintf("%s wraps %s (%s): %s", ip, w.v4, w.how, reason)
		}
	}
	if r, ok := mostSpecific(specialIPv6, ip); ok {
		return fmt.Sprintf("%s is in %s, %s (%s)", ip, r.prefix, r.name, r.rfc)
	}
	if !globalUnicast6.Contains(ip) {
		return fmt.Sprintf("%s is outside %s, the global unicast space (RFC 4291)", ip, globalUnicast6)
	}
	return ""
}

// wrapped is an IPv4 address embedded in an IPv6 one.
type wrapped struct {
	v4  netip.Addr
	how string
}

var (
	nat64WKP   = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	teredo     = netip.MustParsePrefix("2001::/32")
	compatible = netip.MustParsePrefix("::/96")
)

// embeddedIPv4 returns the IPv4 addresses an IPv6 address carries by a
// standard embedding (IPv4-mapped is Unmap's business).
func embeddedIPv4(ip netip.Addr) []wrapped {
	a := ip.As16()
	v4 := func(b0, b1, b2, b3 byte) netip.Addr { return netip.AddrFrom4([4]byte{b0, b1, b2, b3}) }
	var out []wrapped
	switch {
	case nat64WKP.Contains(ip):
		out = append(out, wrapped{v4(a[12], a[13], a[14], a[15]), "NAT64, RFC 6052"})
	case nat64Local.Contains(ip):
		// A /48 prefix: the IPv4 address is split around the u octet
		// (bits 64-71), RFC 6052 section 2.2.
		out = append(out, wrapped{v4(a[6], a[7], a[9], a[10]), "NAT64 local use, RFC 8215"})
	case sixToFour.Contains(ip):
		out = append(out, wrapped{v4(a[2], a[3], a[4], a[5]), "6to4, RFC 3056"})
	case teredo.Contains(ip):
		out = append(out,
			wrapped{v4(a[4], a[5], a[6], a[7]), "Teredo server, RFC 4380"},
			wrapped{v4(^a[12], ^a[13], ^a[14], ^a[15]), "Teredo client, RFC 4380"})
	case compatible.Contains(ip) && ip != netip.IPv6Unspecified() && ip != netip.IPv6Loopback():
		out = append(out, wrapped{v4(a[12], a[13], a[14], a[15]), "IPv4-compatible, RFC 4291"})
	}
	// ISATAP interface identifiers ([0|2]000:5efe:a.b.c.d) can follow
	// any prefix, RFC 5214 section 6.1.
	if (a[8] == 0 || a[8] == 2) && a[9] == 0 && a[10] == 0x5e && a[11] == 0xfe {
		out = append(out, wrapped{v4(a[12], a[13], a[14], a[15]), "ISATAP, RFC 5214"})
	}
	return out
}

// specialName reports whether host is a special-use domain name that is
// never a customer's server on the Internet (RFC 6761, 6762, 8375, 9476
// and ICANN's .internal), or a name a resolver might read as a numeric
// IPv4 address ("2130706433", "0x7f.1", "127.1"), which DNS names never
// are (no top-level domain is numeric).
func specialName(host string) string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	for _, s := range []string{"localhost", "local", "internal", "home.arpa", "invalid", "alt", "onion"} {
		if h == s || strings.HasSuffix(h, "."+s) {
			return fmt.Sprintf("%q is a special-use name", host)
		}
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	numeric := last != ""
	for _, r := range last {
		if !(r >= '0' && r <= '9' || r == 'x' || r >= 'a' && r <= 'f') {
			numeric = false
		}
	}
	if numeric && (last[0] >= '0' && last[0] <= '9') {
		return fmt.Sprintf("%q reads as a numeric address, not a host name", host)
	}
	return ""
}
