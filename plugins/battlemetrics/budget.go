package main

import (
	"sync"
	"time"
)

// budget keeps the plugin within BattleMetrics' limits: a token bucket that
// refills perMinute requests a minute and holds at most burst (the
// per-second limit), and a pause the API itself imposed with a 429's
// Retry-After. A call that finds no room is not made: the plugin answers
// Unavailable with the wait as the retry hint, so the core comes back
// later instead of the plugin hammering the API or blocking a call.
type budget struct {
	mu        sync.Mutex
	now       func() time.Time
	perMinute int // 0: no budget
	burst     float64
	tokens    float64
	last      time.Time
	pausedTo  time.Time
}

func newBudget(perMinute, burst int, now func() time.Time) *budget {
	return &budget{now: now, perMinute: perMinute, burst: float64(burst), tokens: float64(burst)}
}

// take uses one request, or returns how long until one is allowed.
func (b *budget) take() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if now.Before(b.pausedTo) {
		return b.pausedTo.Sub(now)
	}
	if b.perMinute <= 0 {
		return 0
	}
	perToken := time.Minute / time.Duration(b.perMinute)
	if !b.last.IsZero() {
		b.tokens = min(b.burst, b.tokens+float64(now.Sub(b.last))/float64(perToken))
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration((1-b.tokens)*float64(perToken)).Round(time.Second) + time.Second
}

// pause stops every call for d (a 429's Retry-After).
func (b *budget) pause(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if until := b.now().Add(d); until.After(b.pausedTo) {
		b.pausedTo = until
	}
}
