package route

import (
	"sync/atomic"
	"time"
)

// RetryBudget caps retries to a share of recent requests, so an outage
// does not multiply into a retry storm: over a sliding 10-second window,
// retries may be at most Ratio of first attempts, plus a small allowance
// so quiet services can still retry.
type RetryBudget struct {
	Ratio    float64 // e.g. 0.2 for 20% extra load
	MinRetry int64   // retries always allowed per window
	buckets  [10]budgetBucket
	now      func() time.Time
}

type budgetBucket struct {
	sec      atomic.Int64
	requests atomic.Int64
	retries  atomic.Int64
}

// NewRetryBudget returns a budget of ratio extra attempts.
func NewRetryBudget(ratio float64, minRetry int64) *RetryBudget {
	return &RetryBudget{Ratio: ratio, MinRetry: minRetry, now: time.Now}
}

func (b *RetryBudget) bucket() *budgetBucket {
	sec := b.now().Unix()
	bk := &b.buckets[sec%int64(len(b.buckets))]
	if old := bk.sec.Load(); old != sec && bk.sec.CompareAndSwap(old, sec) {
		bk.requests.Store(0)
		bk.retries.Store(0)
	}
	return bk
}

// Request records a first attempt.
func (b *RetryBudget) Request() { b.bucket().requests.Add(1) }

// TryRetry spends one retry if the budget allows it.
func (b *RetryBudget) TryRetry() bool {
	now := b.now().Unix()
	var req, ret int64
	for i := range b.buckets {
		bk := &b.buckets[i]
		if now-bk.sec.Load() < int64(len(b.buckets)) {
			req += bk.requests.Load()
			ret += bk.retries.Load()
		}
	}
	if float64(ret) >= b.Ratio*float64(req)+float64(b.MinRetry) {
		return false
	}
	b.bucket().retries.Add(1)
	return true
}
