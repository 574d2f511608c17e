package databasetest

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy between the code under test and PostgreSQL that a
// test cuts and restores, to cause a database outage without stopping the
// PostgreSQL server other tests share. Cut refuses new connections (the
// listening socket is closed) and resets the open ones; Restore listens
// again on the same address.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[*net.TCPConn]struct{}
	done  bool
}

// NewProxy starts a proxy to the host and port of the PostgreSQL URL u and
// returns it; it is closed when the test ends. URL gives u pointed at it.
func NewProxy(t testing.TB, u string) *Proxy {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{target: parsed.Host, addr: ln.Addr().String(), conns: map[*net.TCPConn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.close)
	return p
}

// URL returns u with its host and port replaced by the proxy's.
func (p *Proxy) URL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	parsed.Host = p.addr
	return parsed.String()
}

// Cut starts an outage: new connections are refused and open ones reset.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.SetLinger(0) // close with RST
		_ = c.Close()
		delete(p.conns, c)
	}
}

// Restore ends the outage: the proxy listens again on its address.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	if p.ln != nil || p.done {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.serve(ln)
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.pipe(c.(*net.TCPConn))
		}
	}()
}

func (p *Proxy) pipe(client *net.TCPConn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = client.SetLinger(0)
		_ = client.Close()
		return
	}
	server := up.(*net.TCPConn)
	p.mu.Lock()
	if p.ln == nil {
		// Cut while dialling.
		p.mu.Unlock()
		_ = client.SetLinger(0)
		_ = client.Close()
		_ = server.Close()
		return
	}
	p.conns[client], p.conns[server] = struct{}{}, struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	copyHalf := func(dst, src *net.TCPConn) {
		defer wg.Done()
		_, err := io.Copy(dst, src)
		if err != nil && !errors.Is(err, net.ErrClosed) {
			_ = dst.SetLinger(0)
		}
		_ = dst.Close()
		_ = src.Close()
	}
	wg.Add(2)
	go copyHalf(server, client)
	go copyHalf(client, server)
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (p *Proxy) close() {
	p.Cut()
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
}
