package testkit

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// UnusedAddr returns a loopback address whose port nothing listens on, for
// a process the test starts later to bind (a core that takes its address
// from the environment) or for a check that must find the port closed. The
// port is below the kernel's ephemeral range: until it is used, every
// listener on port 0 and every outgoing connection of the tests running
// beside this one takes its port from that range, so a port picked there
// can be taken in the meantime (a core's bind once failed with "address
// already in use" that way). Only an explicit bind takes a port below the
// range, and this process hands each out once.
func UnusedAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		port := 10000 + rand.IntN(low-10000)
		if handedOut.ports[port] {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // something listens there: try another
		}
		addr := ln.Addr().String()
		if err := ln.Close(); err != nil {
			t.Fatal(err)
		}
		handedOut.ports[port] = true
		return addr
	}
	t.Fatalf("no unused port below %d in 100 tries", low)
	return ""
}

// UnusedPort is UnusedAddr's port.
func UnusedPort(t testing.TB) int {
	t.Helper()
	_, port, err := net.SplitHostPort(UnusedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// handedOut are the ports UnusedAddr has returned in this process.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// ephemeralLow is the first port of the kernel's ephemeral range, or
// Linux's default when it cannot be read or leaves too little below it.
func ephemeralLow() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return linuxDefault
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low <= 11000 {
		return linuxDefault
	}
	return low
}
