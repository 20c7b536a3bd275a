// Package bench generates load and reports it: closed-loop maximum
// throughput, open-loop fixed-rate latency (so slow answers cannot hide
// behind a waiting client), percentiles, CPU per request and peak memory.
// `switchboard bench` drives it against the fake upstream, a baseline Go
// reverse proxy and Switchboard itself, in one run.
package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Target is what a load test sends.
type Target struct {
	Name   string
	URL    string
	Header http.Header
	Body   []byte
}

// Result is one measurement.
type Result struct {
	Target      string
	Requests    int
	Errors      int
	Throughput  float64 // successful requests per second
	P50, P90    time.Duration
	P99, P999   time.Duration
	CPUPerReq   time.Duration // process CPU (client, upstream and gateway) per request
	Elapsed     time.Duration
	FirstErrors []string
}

// Closed sends requests from concurrency clients, each waiting for its
// answer, for d: the most the target can serve.
func Closed(ctx context.Context, t Target, concurrency int, d time.Duration) Result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	do := func() (time.Duration, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Body))
		req.Header = t.Header.Clone()
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, &statusError{resp.StatusCode}
		}
		return time.Since(start), nil
	}
	var warm sync.WaitGroup
	for range concurrency { // open and warm every connection
		warm.Go(func() { do() })
	}
	warm.Wait()
	var mu sync.Mutex
	var lat []time.Duration
	var errs []string
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, 1024)
			var bad []string
			for time.Now().Before(deadline) && ctx.Err() == nil {
				l, err := do()
				if err != nil {
					bad = append(bad, err.Error())
					continue
				}
				mine = append(mine, l)
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs = append(errs, bad...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize(t.Name, lat, errs, time.Since(start), cpuTime()-cpu0)
}

// Open sends rate requests per second for d whatever the answers take,
// so queueing shows in the latencies (no coordinated omission).
func Open(ctx context.Context, t Target, rate int, d time.Duration) Result {
	targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodPost, URL: t.URL, Header: t.Header, Body: t.Body})
	attacker := vegeta.NewAttacker(vegeta.Connections(10000), vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true))
	var lat []time.Duration
	var errs []string
	cpu0 := cpuTime()
	start := time.Now()
	for res := range attacker.Attack(targeter, vegeta.Rate{Freq: rate, Per: time.Second}, d, t.Name) {
		if ctx.Err() != nil {
			attacker.Stop()
		}
		if res.Code != http.StatusOK || res.Error != "" {
			errs = append(errs, res.Error)
			continue
		}
		lat = append(lat, res.Latency)
	}
	return summarize(t.Name, lat, errs, time.Since(start), cpuTime()-cpu0)
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

func summarize(name string, lat []time.Duration, errs []string, elapsed, cpu time.Duration) Result {
	slices.Sort(lat)
	r := Result{Target: name, Requests: len(lat) + len(errs), Errors: len(errs), Elapsed: elapsed}
	if len(lat) > 0 {
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		r.P50, r.P90, r.P99, r.P999 = q(0.5), q(0.9), q(0.99), q(0.999)
		r.Throughput = float64(len(lat)) / elapsed.Seconds()
	}
	if r.Requests > 0 {
		r.CPUPerReq = cpu / time.Duration(r.Requests)
	}
	if len(errs) > 3 {
		errs = errs[:3]
	}
	r.FirstErrors = errs
	return r
}

// cpuTime is the process's user and system CPU so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS is the process's peak resident memory in bytes.
func PeakRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss * 1024 // kilobytes on Linux
}

// StreamResult is a streaming measurement: time to the first byte of the
// answer and the gaps between its chunks.
type StreamResult struct {
	Target         string
	Streams        int
	Errors         int
	TTFB50, TTFB99 time.Duration
	Gap50, Gap99   time.Duration
}

// Streams runs concurrency clients, each reading one stream after
// another for d, timing the first byte and every gap between data lines.
func Streams(ctx context.Context, t Target, concurrency int, d time.Duration) StreamResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var ttfb, gaps []time.Duration
	errors := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				first, between, err := oneStream(ctx, client, t)
				mu.Lock()
				if err != nil {
					errors++
				} else {
					ttfb = append(ttfb, first)
					gaps = append(gaps, between...)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(ttfb)
	slices.Sort(gaps)
	q := func(v []time.Duration, p float64) time.Duration {
		if len(v) == 0 {
			return 0
		}
		return v[min(len(v)-1, int(p*float64(len(v))))]
	}
	return StreamResult{Target: t.Name, Streams: len(ttfb), Errors: errors, TTFB50: q(ttfb, 0.5), TTFB99: q(ttfb, 0.99), Gap50: q(gaps, 0.5), Gap99: q(gaps, 0.99)}
}

func oneStream(ctx context.Context, client *http.Client, t Target) (time.Duration, []time.Duration, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Body))
	req.Header = t.Header.Clone()
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, nil, &statusError{resp.StatusCode}
	}
	buf := make([]byte, 32<<10)
	var first time.Duration
	var gaps []time.Duration
	last := time.Time{}
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			now := time.Now()
			if first == 0 {
				first = now.Sub(start)
			} else if events := bytes.Count(buf[:n], []byte("data:")); events > 0 {
				gaps = append(gaps, now.Sub(last))
			}
			last = now
		}
		if err == io.EOF {
			return first, gaps, nil
		}
		if err != nil {
			return 0, nil, err
		}
	}
}

// HeldStreams opens n streams at once, waits until each has its first
// byte, and reports the memory the process holds then (heap and stacks,
// after a collection) less what it held before: the cost of n open
// streams on every side of them (client, upstream and, when the target is
// the gateway, the gateway).
func HeldStreams(ctx context.Context, t Target, n int) (perStream int64, opened int, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}}
	defer client.CloseIdleConnections()
	before := heldMemory()
	var wg sync.WaitGroup
	var mu sync.Mutex
	started := make(chan struct{}, n)
	var firstErr error
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(t.Body))
			req.Header = t.Header.Clone()
			resp, err := client.Do(req)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = &statusError{resp.StatusCode}
			}
			var one [1]byte
			if err == nil {
				_, err = io.ReadFull(resp.Body, one[:])
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				started <- struct{}{}
				return
			}
			started <- struct{}{}
			<-ctx.Done() // hold the stream open until measured
			resp.Body.Close()
		}()
	}
	for range n {
		<-started
	}
	after := heldMemory()
	mu.Lock()
	err = firstErr
	mu.Unlock()
	cancel()
	wg.Wait()
	if err != nil {
		return 0, 0, err
	}
	return (after - before) / int64(n), n, nil
}

// heldMemory is the heap and goroutine stacks in use after a collection.
func heldMemory() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse + m.StackInuse)
}
