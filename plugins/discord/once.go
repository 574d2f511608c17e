package main

import (
	"context"
	"sync"
	"time"
)

// onceCache remembers the result of an operation per idempotency key, so a
// repeated call returns the first result instead of acting twice: Discord has
// no idempotency keys of its own. Concurrent calls with one key share one
// execution. Failures are not remembered, so a retry acts again. Entries
// live for ttl, at most max of them, in memory: a plugin restart forgets
// them, which at worst repeats one alert or invite.
type onceCache[T any] struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]*onceEntry[T]
	// order holds keys oldest first; with one ttl for all, the oldest entry
	// is also the first to expire, so eviction pops from the front.
	order []string
}

type onceEntry[T any] struct {
	done    chan struct{}
	val     T
	err     error
	created time.Time
}

func newOnceCache[T any](ttl time.Duration, max int) *onceCache[T] {
	return &onceCache[T]{ttl: ttl, max: max, entries: make(map[string]*onceEntry[T])}
}

// Do returns the remembered result for key, or runs f and remembers it.
func (c *onceCache[T]) Do(ctx context.Context, key string, f func() (T, error)) (T, error) {
	now := time.Now()
	c.mu.Lock()
	c.evict(now)
	e, ok := c.entries[key]
	if !ok {
		e = &onceEntry[T]{done: make(chan struct{}), created: now}
		c.entries[key] = e
		c.order = append(c.order, key)
		c.mu.Unlock()
		e.val, e.err = f()
		if e.err != nil {
			c.mu.Lock()
			if c.entries[key] == e {
				delete(c.entries, key)
			}
			c.mu.Unlock()
		}
		close(e.done)
		return e.val, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.val, e.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// evict drops expired entries and, past max, the oldest. Called with mu held.
func (c *onceCache[T]) evict(now time.Time) {
	for len(c.order) > 0 {
		key := c.order[0]
		e, ok := c.entries[key]
		if ok && len(c.entries) < c.max && now.Sub(e.created) < c.ttl {
			return
		}
		c.order = c.order[1:]
		if ok {
			select {
			case <-e.done:
				delete(c.entries, key)
			default:
				// Still running: keep it, and look at it again later.
				c.order = append(c.order, key)
				return
			}
		}
	}
}
