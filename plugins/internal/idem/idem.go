// Package idem makes a plugin's lifecycle calls idempotent per key: the first
// successful outcome of a key is kept and returned to every repeat, and
// concurrent calls with the same key share one execution. Failures are not
// kept, so the core can deliberately retry a failed call with the same key.
//
// The cache lives in the plugin process; plugins pair it with a lookup at the
// backend (a server found by its external id before creating one) so that a
// repeat after a plugin restart does not act twice either.
package idem

import (
	"context"
	"sync"
	"time"
)

// DefaultTTL is how long an outcome is kept: the core keeps idempotency keys
// for at least 24 hours.
const DefaultTTL = 24 * time.Hour

// DefaultMaxEntries bounds memory; the oldest outcomes go first.
const DefaultMaxEntries = 10000

// Cache holds outcomes by key. The zero value is not usable; use New.
type Cache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu      sync.Mutex
	done    map[string]entry
	order   []string // insertion order, for eviction
	flights map[string]*flight
}

type entry struct {
	value any
	at    time.Time
}

type flight struct {
	wg    sync.WaitGroup
	value any
	err   error
}

// New returns a Cache with DefaultTTL and DefaultMaxEntries.
func New() *Cache {
	return &Cache{ttl: DefaultTTL, max: DefaultMaxEntries, now: time.Now,
		done: map[string]entry{}, flights: map[string]*flight{}}
}

// Do returns the kept outcome of key, or runs fn once for all concurrent
// callers of key and keeps its result when it succeeds. A caller whose ctx
// ends while waiting for another's flight gets ctx's error.
func Do[T any](ctx context.Context, c *Cache, key string, fn func(context.Context) (T, error)) (T, error) {
	var zero T
	c.mu.Lock()
	if e, ok := c.done[key]; ok && c.now().Sub(e.at) < c.ttl {
		c.mu.Unlock()
		return e.value.(T), nil
	}
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		waited := make(chan struct{})
		go func() { f.wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-ctx.Done():
			return zero, ctx.Err()
		}
		if f.err != nil {
			return zero, f.err
		}
		return f.value.(T), nil
	}
	f := &flight{}
	f.wg.Add(1)
	c.flights[key] = f
	c.mu.Unlock()

	v, err := fn(ctx)
	f.value, f.err = v, err

	c.mu.Lock()
	delete(c.flights, key)
	if err == nil {
		c.store(key, v)
	}
	c.mu.Unlock()
	f.wg.Done()
	return v, err
}

// store keeps an outcome, evicting expired and then the oldest entries.
func (c *Cache) store(key string, v any) {
	if _, exists := c.done[key]; !exists {
		c.order = append(c.order, key)
	}
	c.done[key] = entry{value: v, at: c.now()}
	for len(c.order) > 0 && (len(c.done) > c.max || c.now().Sub(c.done[c.order[0]].at) >= c.ttl) {
		delete(c.done, c.order[0])
		c.order = c.order[1:]
	}
}

// Len returns how many outcomes are kept.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.done)
}
