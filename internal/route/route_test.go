package route

import (
	"math"
	"net/http"
	"testing"
	"time"
)

func targets(weights ...int) []*Target {
	var ts []*Target
	for _, w := range weights {
		ts = append(ts, NewTarget(w, 0, 0, 0, 0, BreakerConfig{}))
	}
	return ts
}

// Weighted selection matches the weights: over n picks each share lies
// within 5 standard deviations of n·p (a binomial count); a correct
// picker fails this about once in 3.5 million runs.
func TestWeightedDistribution(t *testing.T) {
	b := NewBalancer(Weighted, targets(1, 2, 7))
	const n = 100000
	counts := make([]int, 3)
	for range n {
		counts[b.Pick(0)]++
	}
	for i, w := range []float64{0.1, 0.2, 0.7} {
		mean, sd := n*w, math.Sqrt(n*w*(1-w))
		if math.Abs(float64(counts[i])-mean) > 5*sd {
			t.Errorf("target %d: %d picks, want %.0f ± %.0f", i, counts[i], mean, 5*sd)
		}
	}
	// Skipped targets are never picked; all skipped → -1.
	for range 1000 {
		if b.Pick(0b100) == 2 {
			t.Fatal("picked a skipped target")
		}
	}
	if b.Pick(0b111) != -1 {
		t.Error("picked from an empty set")
	}
}

func TestStrategies(t *testing.T) {
	rr := NewBalancer(RoundRobin, targets(1, 1, 1))
	seen := map[int]int{}
	for range 30 {
		seen[rr.Pick(0)]++
	}
	if seen[0] != 10 || seen[1] != 10 || seen[2] != 10 {
		t.Errorf("round-robin %v", seen)
	}

	ts := targets(1, 1)
	ts[0].Start()
	ts[0].Start()
	lb := NewBalancer(LeastBusy, ts)
	if lb.Pick(0) != 1 {
		t.Error("least-busy did not pick the idle target")
	}

	ts = targets(1, 1)
	ts[0].Price, ts[1].Price = 10, 2.5
	if NewBalancer(Cost, ts).Pick(0) != 1 {
		t.Error("cost did not pick the cheaper target")
	}

	ts = targets(1, 1)
	ts[0].ObserveHeaders(http.Header{"X-Ratelimit-Remaining-Requests": {"5"}, "X-Ratelimit-Limit-Requests": {"100"}})
	ts[1].ObserveHeaders(http.Header{"X-Ratelimit-Remaining-Requests": {"80"}, "X-Ratelimit-Limit-Requests": {"100"}})
	if NewBalancer(Usage, ts).Pick(0) != 1 {
		t.Error("usage did not pick the target with headroom")
	}
	ts = targets(1, 1)
	ts[0].RPM = 2
	ts[0].Start()
	ts[0].Start()
	ts[0].Done()
	ts[0].Done()
	if NewBalancer(Usage, ts).Pick(0) != 1 {
		t.Error("usage ignored the configured rpm")
	}

	ts = targets(1, 1, 1)
	ts[0].Priority, ts[1].Priority, ts[2].Priority = 2, 1, 1
	p := NewBalancer(Priority, ts)
	for range 100 {
		if p.Pick(0) == 0 {
			t.Fatal("priority picked a lower tier while a higher one was available")
		}
	}
	if p.Pick(0b110) != 0 {
		t.Error("priority did not fall to the lower tier")
	}

	ts = targets(1, 1)
	ts[0].Observe(50 * time.Millisecond)
	ts[1].Observe(5 * time.Millisecond)
	lat := NewBalancer(Latency, ts)
	fast := 0
	for range 100 {
		if lat.Pick(0) == 1 {
			fast++
		}
	}
	if fast != 100 {
		t.Errorf("latency picked the fast target %d/100 times", fast)
	}
}

func TestPeakEWMA(t *testing.T) {
	tg := targets(1)[0]
	tg.Observe(10 * time.Millisecond)
	tg.Observe(100 * time.Millisecond)
	if tg.LatencyEWMA() != 100*time.Millisecond {
		t.Errorf("a slower sample should count at once: %v", tg.LatencyEWMA())
	}
	for range 20 {
		tg.Observe(10 * time.Millisecond)
	}
	if d := tg.LatencyEWMA(); d > 11*time.Millisecond || d < 10*time.Millisecond {
		t.Errorf("faster samples should pull the estimate down: %v", d)
	}
}

func TestBreaker(t *testing.T) {
	now := time.Unix(1000, 0)
	b := NewBreaker(BreakerConfig{Failures: 3, Cooldown: 10 * time.Second, Probes: 1})
	b.now = func() time.Time { return now }
	for range 2 {
		b.Failure()
	}
	b.Success() // resets the run
	for range 2 {
		b.Failure()
	}
	if b.State() != Closed {
		t.Fatal("opened before 3 failures in a row")
	}
	b.Failure()
	if ok, at := b.Allow(); ok || b.State() != Open || !at.Equal(now.Add(10*time.Second)) {
		t.Fatalf("open breaker allowed a request (retry at %v)", at)
	}
	now = now.Add(11 * time.Second)
	if ok, _ := b.Allow(); !ok || b.State() != HalfOpen {
		t.Fatal("no probe after the cooldown")
	}
	if ok, _ := b.Allow(); ok {
		t.Fatal("a second probe while the first is out")
	}
	b.Failure()
	if b.State() != Open {
		t.Fatal("a failed probe should reopen")
	}
	now = now.Add(11 * time.Second)
	b.Allow()
	b.Success()
	if ok, _ := b.Allow(); !ok || b.State() != Closed {
		t.Fatal("a successful probe should close")
	}
}

func TestRetryBudget(t *testing.T) {
	now := time.Unix(5000, 0)
	b := NewRetryBudget(0.2, 2)
	b.now = func() time.Time { return now }
	for range 100 {
		b.Request()
	}
	allowed := 0
	for range 100 {
		if b.TryRetry() {
			allowed++
		}
	}
	if allowed != 22 {
		t.Errorf("allowed %d retries for 100 requests; want 20%% + 2", allowed)
	}
	now = now.Add(11 * time.Second) // the window has moved on
	first, second, third := b.TryRetry(), b.TryRetry(), b.TryRetry()
	if !first || !second || third {
		t.Error("after the window, only the minimum should be allowed")
	}
}

// Selection must cost well under a microsecond and allocate nothing.
func BenchmarkPick(b *testing.B) {
	for _, s := range []string{Weighted, RoundRobin, LeastBusy, Latency, Cost, Usage, Priority} {
		ts := targets(3, 1, 2, 1)
		for i, tg := range ts {
			tg.Observe(time.Duration(i+1) * time.Millisecond)
			tg.Price = float64(i + 1)
			tg.Priority = i % 2
		}
		bal := NewBalancer(s, ts)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if bal.Pick(0) < 0 {
					b.Fatal("no pick")
				}
			}
		})
	}
	br := NewBreaker(BreakerConfig{})
	b.Run("breaker-allow+success", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			br.Allow()
			br.Success()
		}
	})
}
