package scheduler

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestBlockedReason: every special-purpose block of both IANA registries
// is refused, naming the block's RFC; embedded IPv4 addresses are
// unwrapped (IPv4-mapped, NAT64 well-known and local-use, 6to4, Teredo,
// ISATAP, IPv4-compatible) and refused for what they wrap; public unicast
// addresses pass.
func TestBlockedReason(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr string
		want string // a substring of the reason; "" = allowed
	}{
		// The blocks main allowed.
		{"100.100.100.200", "RFC 6598"},
		{"100.64.0.1", "RFC 6598"},
		{"192.0.0.1", "RFC 7335"},
		{"192.0.0.100", "RFC 6890"},
		{"192.0.0.170", "RFC 8880"},
		{"198.18.0.1", "RFC 2544"},
		{"198.19.255.254", "RFC 2544"},
		{"240.0.0.1", "RFC 1112"},
		{"255.255.255.255", "RFC 919"},
		{"64:ff9b::7f00:1", "wraps 127.0.0.1 (NAT64, RFC 6052)"},
		{"64:ff9b::a9fe:a9fe", "wraps 169.254.169.254"},
		{"64:ff9b::808:808", "RFC 6052"}, // NAT64 of a public address: the block itself is refused
		{"64:ff9b:1:7f00:0:100::", "wraps 127.0.0.1 (NAT64 local use, RFC 8215)"},
		{"2002:7f00:1::", "wraps 127.0.0.1 (6to4, RFC 3056)"},
		{"2002:a9fe:a9fe::1", "wraps 169.254.169.254"},
		{"2002:808:808::1", "RFC 3056"},
		// Teredo whose client (stored inverted) is 127.0.0.1.
		{"2001:0:4136:e378:8000:63bf:80ff:fffe", "wraps 127.0.0.1 (Teredo client, RFC 4380)"},
		// ISATAP under a global prefix: only the unwrapping refuses it.
		{"2001:4860:1:2:0:5efe:7f00:1", "wraps 127.0.0.1 (ISATAP, RFC 5214)"},
		{"2001:4860:1:2:200:5efe:a9fe:a9fe", "wraps 169.254.169.254 (ISATAP"},
		{"2001:4860:1:2:0:5efe:808:808", ""},
		// The rest of the IPv4 registry.
		{"0.0.0.0", "RFC 1122"},
		{"0.1.2.3", "RFC 791"},
		{"10.1.2.3", "RFC 1918"},
		{"127.0.0.1", "RFC 1122"},
		{"169.254.169.254", "RFC 3927"},
		{"172.31.255.255", "RFC 1918"},
		{"192.0.0.9", "RFC 7723"},
		{"192.0.2.10", "RFC 5737"},
		{"192.31.196.1", "RFC 7535"},
		{"192.52.193.1", "RFC 7450"},
		{"192.88.99.1", "RFC 7526"},
		{"192.168.1.1", "RFC 1918"},
		{"192.175.48.1", "RFC 7534"},
		{"198.51.100.1", "RFC 5737"},
		{"203.0.113.1", "RFC 5737"},
		{"224.0.0.1", "RFC 5771"},
		// IPv4-mapped: the IPv4 address it is.
		{"::ffff:127.0.0.1", "127.0.0.1 is in 127.0.0.0/8"},
		{"::ffff:100.100.100.200", "RFC 6598"},
		{"::ffff:8.8.8.8", ""},
		// The rest of the IPv6 registry.
		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::7f00:1", "wraps 127.0.0.1 (IPv4-compatible"},
		{"100::1", "RFC 6666"},
		{"100:0:0:1::1", "RFC 9780"},
		{"2001:1::1", "RFC 7723"},
		{"2001:1::3", "RFC 9665"},
		{"2001:2::1", "RFC 5180"},
		{"2001:3::1", "RFC 7450"},
		{"2001:4:112::1", "RFC 7535"},
		{"2001:10::1", "RFC 4843"},
		{"2001:20::1", "RFC 7343"},
		{"2001:30::1", "RFC 9374"},
		{"2001:db8::1", "RFC 3849"},
		{"2001:100::1", "RFC 2928"},
		{"2620:4f:8000::1", "RFC 7534"},
		{"3fff::1", "RFC 9637"},
		{"5f00::1", "RFC 9602"},
		{"fd00::1", "RFC 4193"},
		{"fe80::1", "RFC 4291"},
		{"fe80::1%eth0", "zoned"},
		{"ff02::1", "multicast"},
		{"fec0::1", "outside 2000::/3"},
		{"4000::1", "outside 2000::/3"},
		// Public.
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"100.128.0.1", ""},
		{"198.20.0.1", ""},
		{"2606:4700:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"2620:4f:8001::1", ""},
	} {
		t.Run(c.addr, func(t *testing.T) {
			t.Parallel()
			got := blockedReason(netip.MustParseAddr(c.addr))
			switch {
			case c.want == "" && got != "":
				t.Errorf("refused: %s", got)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Errorf("reason %q, want one containing %q", got, c.want)
			}
		})
	}
}

// TestSpecialTablesAreCanonical: each block is written as its network
// address, in the table of its family.
func TestSpecialTablesAreCanonical(t *testing.T) {
	t.Parallel()
	for v4, table := range map[bool][]specialRange{true: specialIPv4, false: specialIPv6} {
		for _, r := range table {
			if r.prefix != r.prefix.Masked() || r.rfc == "" || r.name == "" {
				t.Errorf("%v: not canonical or undocumented", r)
			}
			if r.prefix.Addr().Is4() != v4 {
				t.Errorf("%v is in the wrong table", r.prefix)
			}
		}
	}
}

// TestSpecialNames: special-use names and numeric spellings of addresses
// are refused without asking DNS.
func TestSpecialNames(t *testing.T) {
	t.Parallel()
	for name, refused := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "api.localhost": true, "printer.local": true,
		"metadata.google.internal": true, "router.home.arpa": true, "x.invalid": true, "x.onion": true,
		"2130706433": true, "0x7f.1": true, "127.1": true, "0177.0.0.1": true,
		"example.com": false, "shop.example.co.uk": false, "host-1.example.net": false, "local.example.com": false,
	} {
		if got := specialName(name) != ""; got != refused {
			t.Errorf("specialName(%q) refused = %v, want %v", name, got, refused)
		}
	}
}

// TestDialerControlRefusesAtConnect: the dialer's Control hook refuses a
// special-purpose address whatever resolved it (the DNS-rebinding guard),
// and lets it through when private targets are allowed.
func TestDialerControlRefusesAtConnect(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	p := &prober{timeout: 5 * time.Second}
	if _, err := p.dialer().DialContext(ctx, "tcp", l.Addr().String()); !errors.Is(err, errBlockedAddress) {
		t.Errorf("dial of loopback: %v, want %v", err, errBlockedAddress)
	}
	p.allowPrivate = true
	conn, err := p.dialer().DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatalf("dial with private targets allowed: %v", err)
	}
	conn.Close()
}

// FuzzBlockedReason: no address makes the filter panic; an allowed address
// is public by the standard library's predicates too and wraps no refused
// IPv4 address; a refused IPv4 address stays refused in every wrapping.
func FuzzBlockedReason(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "100.100.100.200", "64:ff9b::7f00:1", "2002:a9fe:a9fe::", "2001:4860:1:2:0:5efe:7f00:1", "8.8.8.8", "2606:4700::1"} {
		f.Add(netip.MustParseAddr(s).AsSlice())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ip, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		reason := blockedReason(ip)
		u := ip.Unmap()
		if reason == "" {
			if !u.IsGlobalUnicast() || u.IsPrivate() || u.IsLoopback() || u.IsLinkLocalUnicast() || u.IsMulticast() {
				t.Fatalf("%s allowed, but the standard library says it is not global unicast", ip)
			}
			for _, table := range [][]specialRange{specialIPv4, specialIPv6} {
				if r, found := mostSpecific(table, u); found {
					t.Fatalf("%s allowed, but it is in %s", ip, r.prefix)
				}
			}
			if u.Is6() {
				for _, w := range embeddedIPv4(u) {
					if blockedReason(w.v4) != "" {
						t.Fatalf("%s allowed, but it wraps %s (%s)", ip, w.v4, w.how)
					}
				}
			}
		}
		if !u.Is4() || blockedReason(u) == "" {
			return
		}
		a := u.As4()
		for _, w := range []netip.Addr{
			netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: a[0], 13: a[1], 14: a[2], 15: a[3]}),
			netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 12: a[0], 13: a[1], 14: a[2], 15: a[3]}),
			netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 5: 1, 6: a[0], 7: a[1], 9: a[2], 10: a[3]}),
			netip.AddrFrom16([16]byte{0: 0x20, 1: 0x02, 2: a[0], 3: a[1], 4: a[2], 5: a[3]}),
			netip.AddrFrom16([16]byte{0: 0x26, 1: 0x06, 10: 0x5e, 11: 0xfe, 12: a[0], 13: a[1], 14: a[2], 15: a[3]}),
		} {
			if blockedReason(w) == "" {
				t.Fatalf("%s wraps refused %s but is allowed", w, u)
			}
		}
	})
}

// FuzzPublicTarget: whatever a customer saves as a target, the save-time
// check does not panic, and a target it accepts that is an IP address is a
// public one.
func FuzzPublicTarget(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "http://169.254.169.254/latest/meta-data", "http://[64:ff9b::a9fe:a9fe]/", "localhost", "2130706433", "example.com", "http://[::ffff:7f00:1]:8080/x"} {
		f.Add(s)
	}
	p := &prober{timeout: time.Second, lookup: func(context.Context, string) ([]netip.Addr, error) {
		return nil, &net.DNSError{Err: "no such host", IsNotFound: true}
	}}
	f.Fuzz(func(t *testing.T, target string) {
		for _, typ := range []string{CheckHTTP, CheckTCP} {
			if validTarget(typ, target) != "" || p.publicTarget(context.Background(), typ, target) != "" {
				continue
			}
			if ip, err := netip.ParseAddr(targetHost(typ, target)); err == nil && blockedReason(ip) != "" {
				t.Fatalf("%s target %q accepted, but %s", typ, target, blockedReason(ip))
			}
		}
	})
}
