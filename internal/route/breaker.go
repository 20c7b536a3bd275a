// Package route chooses deployments: selection strategies over live
// per-deployment state (in-flight count, latency, rate-limit headroom) and
// circuit breakers that take failing deployments out of rotation.
package route

import (
	"sync"
	"sync/atomic"
	"time"
)

// Breaker states.
const (
	Closed int32 = iota
	Open
	HalfOpen
)

// BreakerConfig tunes a circuit breaker.
type BreakerConfig struct {
	// Failures in a row that open the circuit (default 5).
	Failures int
	// Cooldown before an open circuit lets probes through (default 30s).
	Cooldown time.Duration
	// Probes allowed at once while half-open (default 1).
	Probes int
}

func (c *BreakerConfig) defaults() {
	if c.Failures <= 0 {
		c.Failures = 5
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 30 * time.Second
	}
	if c.Probes <= 0 {
		c.Probes = 1
	}
}

// Breaker is a per-deployment circuit breaker: closed → open after
// consecutive failures → half-open after a cooldown, letting a few probes
// through → closed on a probe's success, open again on its failure.
// The closed path is one atomic load.
type Breaker struct {
	cfg   BreakerConfig
	state atomic.Int32
	now   func() time.Time

	failures atomic.Int32 // in a row, while closed

	mu       sync.Mutex // guards transitions out of closed
	openedAt time.Time
	probes   int
}

// NewBreaker returns a closed breaker.
func NewBreaker(cfg BreakerConfig) *Breaker {
	cfg.defaults()
	return &Breaker{cfg: cfg, now: time.Now}
}

// State reports the current state.
func (b *Breaker) State() int32 { return b.state.Load() }

// Allow reports whether a request may go to the deployment now; when not,
// it returns when the circuit will next let a probe through.
func (b *Breaker) Allow() (bool, time.Time) {
	if b.state.Load() == Closed {
		return true, time.Time{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	switch b.state.Load() {
	case Closed:
		return true, time.Time{}
	case Open:
		reopen := b.openedAt.Add(b.cfg.Cooldown)
		if now.Before(reopen) {
			return false, reopen
		}
		b.state.Store(HalfOpen)
		b.probes = 0
		fallthrough
	default: // half-open
		if b.probes >= b.cfg.Probes {
			return false, now.Add(b.cfg.Cooldown / 10)
		}
		b.probes++
		return true, time.Time{}
	}
}

// Success records a success: failures reset, a half-open circuit closes.
func (b *Breaker) Success() {
	if b.state.Load() == Closed {
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		return
	}
	b.mu.Lock()
	b.failures.Store(0)
	b.state.Store(Closed)
	b.probes = 0
	b.mu.Unlock()
}

// Failure records a failure that counts against the deployment.
func (b *Breaker) Failure() {
	if b.state.Load() == Closed && int(b.failures.Add(1)) < b.cfg.Failures {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state.Load() {
	case HalfOpen:
		b.open()
	case Closed:
		if int(b.failures.Load()) >= b.cfg.Failures {
			b.open()
		}
	}
}

func (b *Breaker) open() {
	b.state.Store(Open)
	b.openedAt = b.now()
	b.failures.Store(0)
	b.probes = 0
}
