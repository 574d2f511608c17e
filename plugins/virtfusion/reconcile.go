package main

import (
	"context"
	"slices"
	"sync"

	"github.com/ezscale/platform/plugins/internal/errkind"
	vf "github.com/ezscale/platform/plugins/virtfusion/virtfusionapi"
)

// lostCreate is the window of a create whose answer was lost (or whose
// server could not be named): the panel may hold an unnamed server of userID
// with an id above after.
type lostCreate struct {
	userID int64
	after  int64
}

// lostCreates remembers, per service id, the window of its first lost
// create, until a server is named for it or it is terminated. It lives in
// the plugin process: after a restart an orphan is no longer adopted (staff
// see it in the panel as an unnamed server in state allocated).
type lostCreates struct {
	mu sync.Mutex
	m  map[string]lostCreate
}

// remember keeps the first window of a service: a later lost attempt's
// window lies inside it.
func (l *lostCreates) remember(serviceID string, c lostCreate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]lostCreate{}
	}
	if old, ok := l.m[serviceID]; ok && old.userID == c.userID && old.after <= c.after {
		return
	}
	l.m[serviceID] = c
}

func (l *lostCreates) get(serviceID string) (lostCreate, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.m[serviceID]
	return c, ok
}

func (l *lostCreates) forget(serviceID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, serviceID)
}

// adopt returns the orphan a lost create of the service left, or nil: after
// a lost answer to POST /servers the panel holds an unnamed server in state
// allocated (with an IP) that a lookup by name cannot find. The plugin
// adopts it (names and builds it) rather than deleting it and creating
// another: it is exactly what was asked for, and adopting needs no second
// create. It must be the user's (servers is the user's list, every page),
// have an id in the lost create's window, be unnamed and allocated, and
// match the plan (hypervisor group, the package's resources, the IPv4
// count), so an orphan of another of the customer's services with another
// plan is never taken. Terminate deletes the orphan of a service that was
// never created.
func (p *Plugin) adopt(ctx context.Context, cl *vf.Client, serviceID string, userID int64, servers []vf.ServerSummary, pl plan) (*vf.Server, error) {
	lost, ok := p.lost.get(serviceID)
	if !ok || lost.userID != userID {
		return nil, nil
	}
	var candidates []int64
	for _, s := range servers {
		if s.Name == "" && s.ID > lost.after {
			candidates = append(candidates, s.ID)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	slices.Sort(candidates)
	pkg, err := cl.Package(ctx, pl.packageID)
	if err != nil {
		return nil, errkind.FromAPI(err, "reading the package")
	}
	for _, id := range candidates {
		s, err := cl.Server(ctx, id, false)
		if vf.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, errkind.FromAPI(err, "reading an unnamed server")
		}
		if s.Name == "" && s.State == vf.StateAllocated && s.OwnerID == userID && fits(s, pkg, pl) {
			return s, nil
		}
	}
	return nil, nil
}

// fits reports whether a server was created from the plan.
func fits(s *vf.Server, pkg *vf.Package, pl plan) bool {
	r := s.Settings.Resources
	if s.Hypervisor.GroupID != pl.groupID || r.Memory != pkg.Memory || r.CPUCores != pkg.CPUCores ||
		r.Storage != pkg.PrimaryStorage || r.Traffic != pkg.Traffic {
		return false
	}
	if pl.ipv4 > 0 {
		n := int64(0)
		for _, nic := range s.Network.Interfaces {
			n += int64(len(nic.IPv4))
		}
		return n == pl.ipv4
	}
	return true
}

// highestServerID is the highest server id of a list (0 for none).
func highestServerID(servers []vf.ServerSummary) int64 {
	var n int64
	for _, s := range servers {
		n = max(n, s.ID)
	}
	return n
}

// keyedLock serializes work per key (a VirtFusion user id).
type keyedLock struct {
	mu   sync.Mutex
	held map[int64]chan struct{}
}

// lock waits until key is free (or ctx ends) and takes it; the returned
// function releases it.
func (k *keyedLock) lock(ctx context.Context, key int64) (func(), error) {
	for {
		k.mu.Lock()
		if k.held == nil {
			k.held = map[int64]chan struct{}{}
		}
		busy, ok := k.held[key]
		if !ok {
			done := make(chan struct{})
			k.held[key] = done
			k.mu.Unlock()
			return func() {
				k.mu.Lock()
				delete(k.held, key)
				k.mu.Unlock()
				close(done)
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
