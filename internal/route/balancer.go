package route

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Strategies.
const (
	Weighted   = "weighted"
	RoundRobin = "round-robin"
	LeastBusy  = "least-busy"
	Latency    = "latency"
	Cost       = "cost"
	Usage      = "usage"
	Priority   = "priority"
)

// Target is the live state of one deployment (a provider + upstream
// model), shared by every group that uses it.
type Target struct {
	Weight   int
	Priority int
	// Price is input+output USD per million tokens; 0 means unknown.
	Price    float64
	RPM, TPM int
	Breaker  *Breaker

	inflight atomic.Int64
	ewma     atomic.Uint64 // float64 bits: peak-EWMA latency in ns
	minute   atomic.Int64  // unix minute of count
	count    atomic.Int64  // requests started in that minute
	// learned from x-ratelimit-* headers; -1 when unknown
	remReq, limReq atomic.Int64
	remTok, limTok atomic.Int64
}

// NewTarget returns a target with a fresh breaker.
func NewTarget(weight, priority int, price float64, rpm, tpm int, bc BreakerConfig) *Target {
	t := &Target{Weight: weight, Priority: priority, Price: price, RPM: rpm, TPM: tpm, Breaker: NewBreaker(bc)}
	for _, v := range []*atomic.Int64{&t.remReq, &t.limReq, &t.remTok, &t.limTok} {
		v.Store(-1)
	}
	return t
}

// Start marks a request in flight; Done must follow.
func (t *Target) Start() {
	t.inflight.Add(1)
	m := time.Now().Unix() / 60
	if old := t.minute.Load(); old != m && t.minute.CompareAndSwap(old, m) {
		t.count.Store(0)
	}
	t.count.Add(1)
}

// Done ends an in-flight request.
func (t *Target) Done() { t.inflight.Add(-1) }

// InFlight is the number of requests in flight.
func (t *Target) InFlight() int64 { return t.inflight.Load() }

// Observe feeds a latency sample (time to first token for streams, total
// time otherwise) into the peak-EWMA: a slower sample counts at once, a
// faster one pulls the average down gradually.
func (t *Target) Observe(d time.Duration) {
	for {
		old := t.ewma.Load()
		cur := math.Float64frombits(old)
		x := float64(d)
		next := x
		if cur > 0 && x < cur {
			next = cur + 0.3*(x-cur)
		}
		if t.ewma.CompareAndSwap(old, math.Float64bits(next)) {
			return
		}
	}
}

// LatencyEWMA is the current latency estimate.
func (t *Target) LatencyEWMA() time.Duration {
	return time.Duration(math.Float64frombits(t.ewma.Load()))
}

// ObserveHeaders learns rate-limit headroom from an upstream's
// x-ratelimit-{limit,remaining}-{requests,tokens} headers.
func (t *Target) ObserveHeaders(h http.Header) {
	set := func(v *atomic.Int64, name string) { // name canonical: Get allocates nothing
		if s := h.Get(name); s != "" {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				v.Store(n)
			}
		}
	}
	set(&t.remReq, "X-Ratelimit-Remaining-Requests")
	set(&t.limReq, "X-Ratelimit-Limit-Requests")
	set(&t.remTok, "X-Ratelimit-Remaining-Tokens")
	set(&t.limTok, "X-Ratelimit-Limit-Tokens")
}

// headroom is the share of capacity left, 0..1 (1 when nothing is known).
func (t *Target) headroom() float64 {
	h := 1.0
	if t.RPM > 0 {
		used := float64(0)
		if t.minute.Load() == time.Now().Unix()/60 {
			used = float64(t.count.Load())
		}
		h = math.Min(h, math.Max(0, 1-used/float64(t.RPM)))
	}
	if rem, lim := t.remReq.Load(), t.limReq.Load(); rem >= 0 && lim > 0 {
		h = math.Min(h, float64(rem)/float64(lim))
	}
	if rem, lim := t.remTok.Load(), t.limTok.Load(); rem >= 0 && lim > 0 {
		h = math.Min(h, float64(rem)/float64(lim))
	}
	return h
}

// Balancer picks among a group's targets by strategy.
type Balancer struct {
	strategy string
	targets  []*Target
	rr       atomic.Uint64
}

// NewBalancer builds a balancer; an unknown strategy is weighted.
func NewBalancer(strategy string, targets []*Target) *Balancer {
	return &Balancer{strategy: strategy, targets: targets}
}

// Targets returns the balancer's targets, index-aligned with the group's
// deployments.
func (b *Balancer) Targets() []*Target { return b.targets }

// Pick returns the index of the target to try next, skipping those whose
// bit is set in skip; -1 when none is left. It allocates nothing.
func (b *Balancer) Pick(skip uint64) int {
	n := len(b.targets)
	if n == 0 || n > 64 {
		return -1
	}
	avail := ^skip & (uint64(1)<<n - 1)
	if n == 64 {
		avail = ^skip
	}
	if avail == 0 {
		return -1
	}
	switch b.strategy {
	case RoundRobin:
		start := int(b.rr.Add(1) % uint64(n))
		for k := range n {
			if i := (start + k) % n; avail&(1<<i) != 0 {
				return i
			}
		}
	case LeastBusy:
		return b.argBest(avail, func(t *Target) float64 { return float64(t.inflight.Load()) })
	case Latency:
		return b.powerOfTwo(avail)
	case Cost:
		return b.argBest(avail, func(t *Target) float64 {
			if t.Price <= 0 {
				return math.Inf(1)
			}
			return t.Price
		})
	case Usage:
		return b.argBest(avail, func(t *Target) float64 { return -t.headroom() })
	case Priority:
		best := math.MaxInt
		for i, t := range b.targets {
			if avail&(1<<i) != 0 && t.Priority < best {
				best = t.Priority
			}
		}
		var tier uint64
		for i, t := range b.targets {
			if avail&(1<<i) != 0 && t.Priority == best {
				tier |= 1 << i
			}
		}
		return b.weighted(tier)
	}
	return b.weighted(avail)
}

// weighted picks at random in proportion to weight.
func (b *Balancer) weighted(avail uint64) int {
	total := 0
	for i, t := range b.targets {
		if avail&(1<<i) != 0 {
			total += max(t.Weight, 0)
		}
	}
	if total == 0 {
		for i := range b.targets {
			if avail&(1<<i) != 0 {
				return i
			}
		}
		return -1
	}
	r := rand.IntN(total)
	for i, t := range b.targets {
		if avail&(1<<i) == 0 {
			continue
		}
		if r < t.Weight {
			return i
		}
		r -= max(t.Weight, 0)
	}
	return -1
}

// argBest returns the available target with the lowest score; ties are
// broken by weight so equal targets share the load.
func (b *Balancer) argBest(avail uint64, score func(*Target) float64) int {
	best := math.Inf(1)
	var ties uint64
	for i, t := range b.targets {
		if avail&(1<<i) == 0 {
			continue
		}
		s := score(t)
		switch {
		case s < best:
			best, ties = s, 1<<i
		case s == best:
			ties |= 1 << i
		}
	}
	if ties == 0 {
		return b.weighted(avail)
	}
	return b.weighted(ties)
}

// powerOfTwo samples two targets and keeps the one with the lower cost:
// peak-EWMA latency scaled by load. Targets with no sample yet score 0,
// so new deployments get tried.
func (b *Balancer) powerOfTwo(avail uint64) int {
	a := b.randomAvail(avail)
	c := b.randomAvail(avail &^ (1 << a))
	if c < 0 {
		return a
	}
	if b.cost(c) < b.cost(a) {
		return c
	}
	return a
}

func (b *Balancer) cost(i int) float64 {
	t := b.targets[i]
	return math.Float64frombits(t.ewma.Load()) * float64(t.inflight.Load()+1)
}

func (b *Balancer) randomAvail(avail uint64) int {
	if avail == 0 {
		return -1
	}
	count := 0
	for v := avail; v != 0; v &= v - 1 {
		count++
	}
	k := rand.IntN(count)
	for i := range b.targets {
		if avail&(1<<i) != 0 {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return -1
}
