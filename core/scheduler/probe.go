package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// Check types.
const (
	CheckHTTP = "http"
	CheckTCP  = "tcp"
	CheckPing = "ping"
)

// defaultPingPort is the port of ping's TCP fallback when none is set.
const defaultPingPort = 80

// prober runs health checks. Targets are customer input, so unless
// allowPrivate is set every address is checked after resolution (so DNS
// cannot point a public name at the core's own network): loopback,
// private, link-local, multicast and unspecified addresses are refused.
type prober struct {
	timeout      time.Duration
	allowPrivate bool
}

var errBlockedAddress = errors.New("the address is not public")

func (p *prober) allowed(ip netip.Addr) bool {
	if p.allowPrivate {
		return true
	}
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast()
}

func (p *prober) dialer() *net.Dialer {
	return &net.Dialer{
		Timeout: p.timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !p.allowed(ap.Addr()) {
				return fmt.Errorf("%s: %w", ap.Addr(), errBlockedAddress)
			}
			return nil
		},
	}
}

// check runs one probe; nil means the service answered.
func (p *prober) check(ctx context.Context, typ, target string, port int) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	switch typ {
	case CheckHTTP:
		return p.http(ctx, target)
	case CheckTCP:
		conn, err := p.dialer().DialContext(ctx, "tcp", net.JoinHostPort(target, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("tcp %s:%d: %w", target, port, err)
		}
		return conn.Close()
	case CheckPing:
		return p.ping(ctx, target, port)
	}
	return fmt.Errorf("unknown check type %q", typ)
}

func (p *prober) http(ctx context.Context, raw string) error {
	client := &http.Client{
		Transport: &http.Transport{DialContext: p.dialer().DialContext, Proxy: nil, DisableKeepAlives: true,
			TLSHandshakeTimeout: p.timeout, ResponseHeaderTimeout: p.timeout},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	req.Header.Set("User-Agent", "ezscale-recovery/1")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode >= 400 {
		return fmt.Errorf("http %s answered %d", raw, resp.StatusCode)
	}
	return nil
}

// ping checks that the host answers. It tries an unprivileged ICMP echo
// (a SOCK_DGRAM ICMP socket, which Linux allows to the groups in
// net.ipv4.ping_group_range, no raw socket, no CAP_NET_RAW); when the
// kernel refuses such a socket, it falls back to a TCP connection to port
// (80 by default) where a refused connection also counts as an answer: an
// RST proves the host is up.
func (p *prober) ping(ctx context.Context, host string, port int) error {
	ip, err := p.resolve(ctx, host)
	if err != nil {
		return err
	}
	err = p.icmpEcho(ctx, ip)
	if err == nil || !errors.Is(err, errNoPingSocket) {
		return err
	}
	if port == 0 {
		port = defaultPingPort
	}
	conn, err := p.dialer().DialContext(ctx, "tcp", net.JoinHostPort(ip.String(), strconv.Itoa(port)))
	if err == nil {
		return conn.Close()
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	return fmt.Errorf("ping %s (tcp fallback on port %d): %w", host, port, err)
}

func (p *prober) resolve(ctx context.Context, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if !p.allowed(ip) {
			return netip.Addr{}, fmt.Errorf("%s: %w", ip, errBlockedAddress)
		}
		return ip, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("resolving %s: %w", host, err)
	}
	if !p.allowed(ips[0]) {
		return netip.Addr{}, fmt.Errorf("%s (%s): %w", host, ips[0], errBlockedAddress)
	}
	return ips[0], nil
}

var errNoPingSocket = errors.New("unprivileged ICMP sockets are not allowed here")

func (p *prober) icmpEcho(ctx context.Context, ip netip.Addr) error {
	if !ip.Is4() {
		return errNoPingSocket
	}
	conn, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EPROTONOSUPPORT) {
			return errNoPingSocket
		}
		return fmt.Errorf("%w: %v", errNoPingSocket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: os.Getpid() & 0xffff, Seq: 1, Data: []byte("ezscale")}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	if _, err := conn.WriteTo(b, &net.UDPAddr{IP: ip.AsSlice()}); err != nil {
		return fmt.Errorf("ping %s: %w", ip, err)
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("ping %s: no echo reply: %w", ip, err)
		}
		reply, err := icmp.ParseMessage(1, buf[:n])
		if err == nil && reply.Type == ipv4.ICMPTypeEchoReply {
			return nil
		}
	}
}

// validTarget checks a check's target when it is saved: an http(s) URL for
// http, a host name or IP address for tcp and ping.
func validTarget(typ, target string) string {
	switch typ {
	case CheckHTTP:
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return "must be an http(s) URL without credentials"
		}
	default:
		if _, err := netip.ParseAddr(target); err == nil {
			return ""
		}
		if len(target) == 0 || len(target) > 253 {
			return "must be a host name or IP address"
		}
		for _, r := range target {
			if !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return "must be a host name or IP address"
			}
		}
	}
	return ""
}
