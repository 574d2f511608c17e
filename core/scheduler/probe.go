package scheduler

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
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
// allowPrivate is set every address a probe would reach is checked against
// the special-purpose tables (special.go) after resolution, and again by
// the dialer's Control hook on the address actually connected to, so a
// name that resolves to a public address when saved and to the core's own
// network later (DNS rebinding) is refused at connect time.
type prober struct {
	timeout      time.Duration
	allowPrivate bool
	// lookup resolves a host name; nil is the system resolver.
	lookup LookupFunc
}

// LookupFunc resolves a host name to its addresses.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

var errBlockedAddress = errors.New("the address is not public")

// blockedError is a refused address: detail names it and its block (for
// the log); the customer is told only that the target is not public.
type blockedError struct{ detail string }

func (e *blockedError) Error() string { return errBlockedAddress.Error() + ": " + e.detail }
func (e *blockedError) Unwrap() error { return errBlockedAddress }

// probeError is a failed check: public is what the customer sees (in
// last_error, the attempt and the notification), err the whole story, for
// the log. Resolved addresses never appear in public.
type probeError struct {
	public string
	err    error
}

func (e *probeError) Error() string { return e.err.Error() }
func (e *probeError) Unwrap() error { return e.err }

// publicReason is what a customer may be told about a failed check.
func publicReason(err error) string {
	var pe *probeError
	if errors.As(err, &pe) && pe.public != "" {
		return pe.public
	}
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, errBlockedAddress):
		return "the target is not a public address"
	case errors.As(err, &dnsErr) && !dnsErr.IsTimeout:
		return "the host name does not resolve"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return "no answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	if errors.As(err, &certErr) || errors.As(err, &recErr) || strings.Contains(err.Error(), "tls: ") {
		return "TLS handshake failed"
	}
	return "the check failed"
}

func (p *prober) allowed(ip netip.Addr) error {
	if p.allowPrivate {
		return nil
	}
	if reason := blockedReason(ip); reason != "" {
		return &blockedError{detail: reason}
	}
	return nil
}

func (p *prober) dialer() *net.Dialer {
	return &net.Dialer{
		Timeout: p.timeout,
		// The last line: whatever resolved the name, the address being
		// connected to must be public.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			return p.allowed(ap.Addr())
		},
	}
}

// resolve returns the addresses of host (an IP address or a name). Every
// one must be allowed: a name with any non-public address is refused, not
// narrowed to its public ones.
func (p *prober) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := p.allowed(ip); err != nil {
			return nil, err
		}
		return []netip.Addr{ip}, nil
	}
	if !p.allowPrivate {
		if reason := specialName(host); reason != "" {
			return nil, &blockedError{detail: reason}
		}
	}
	lookup := p.lookup
	if lookup == nil {
		lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	ips, err := lookup(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolving %s: %w", host, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true})
	}
	for _, ip := range ips {
		if err := p.allowed(ip); err != nil {
			return nil, fmt.Errorf("%s resolves to %s: %w", host, ip, err)
		}
	}
	return ips, nil
}

// dial connects to addr ("host:port") through resolve and the checking
// dialer, trying each address in turn.
func (p *prober) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	d := p.dialer()
	var first error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// check runs one probe; nil means the service answered. A failure is a
// *probeError whose public reason can be shown to the customer.
func (p *prober) check(ctx context.Context, typ, target string, port int) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var err error
	switch typ {
	case CheckHTTP:
		err = p.http(ctx, target)
	case CheckTCP:
		var conn net.Conn
		conn, err = p.dial(ctx, "tcp", net.JoinHostPort(target, strconv.Itoa(port)))
		if err == nil {
			err = conn.Close()
		} else {
			err = fmt.Errorf("tcp %s:%d: %w", target, port, err)
		}
	case CheckPing:
		err = p.ping(ctx, target, port)
	default:
		err = fmt.Errorf("unknown check type %q", typ)
	}
	if err == nil {
		return nil
	}
	return &probeError{public: publicReason(err), err: err}
}

func (p *prober) http(ctx context.Context, raw string) error {
	client := &http.Client{
		Transport: &http.Transport{DialContext: p.dial, Proxy: nil, DisableKeepAlives: true,
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
		msg := fmt.Sprintf("answered HTTP %d", resp.StatusCode)
		return &probeError{public: msg, err: fmt.Errorf("http %s %s", raw, msg)}
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
	ips, err := p.resolve(ctx, host)
	if err != nil {
		return err
	}
	ip := ips[0].Unmap()
	for _, a := range ips {
		if a.Unmap().Is4() {
			ip = a.Unmap()
			break
		}
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
			return &probeError{public: "no echo reply", err: fmt.Errorf("ping %s: no echo reply: %w", ip, err)}
		}
		reply, err := icmp.ParseMessage(1, buf[:n])
		if err == nil && reply.Type == ipv4.ICMPTypeEchoReply {
			return nil
		}
	}
}

// targetHost is the host a check's target names.
func targetHost(typ, target string) string {
	if typ != CheckHTTP {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// publicTarget refuses, when a check is saved, a target that is not public:
// an IP address in a special-purpose block, a special-use or numeric name,
// or a name that resolves to any such address now. The probe checks again
// at every connection, so a name that changes later is caught then. A name
// that does not resolve now is accepted (DNS may not be set up yet); its
// checks fail until it does. It returns the field message, or "".
func (p *prober) publicTarget(ctx context.Context, typ, target string) string {
	if p.allowPrivate {
		return ""
	}
	host := targetHost(typ, target)
	if ip, err := netip.ParseAddr(host); err == nil {
		if reason := blockedReason(ip); reason != "" {
			return "must be a public address: " + reason
		}
		return ""
	}
	if reason := specialName(host); reason != "" {
		return "must be a public host: " + reason
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	_, err := p.resolve(ctx, host)
	if errors.Is(err, errBlockedAddress) {
		// The resolved address is not the customer's input: not echoed.
		return "must be a public host: it resolves to a private, loopback or other special-purpose address"
	}
	return ""
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
