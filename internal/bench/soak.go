package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// SoakSample is the process's state at one moment of a soak run.
type SoakSample struct {
	At         time.Duration
	Requests   int
	Errors     int
	HeapInuse  uint64 // after a collection
	Goroutines int
	RSS        int64
}

// Soak sends rate requests per second, cycling through targets, for d,
// and samples memory and goroutines every d/10 (after a collection): a
// leak shows as growth from the first sample (the warmed-up state) to
// the last.
func Soak(ctx context.Context, targets []Target, rate int, d time.Duration) []SoakSample {
	vt := make([]vegeta.Target, len(targets))
	for i, t := range targets {
		vt[i] = vegeta.Target{Method: http.MethodPost, URL: t.URL, Header: t.Header, Body: t.Body}
	}
	attacker := vegeta.NewAttacker(vegeta.Connections(10000), vegeta.Timeout(30*time.Second), vegeta.KeepAlive(true))
	results := attacker.Attack(vegeta.NewStaticTargeter(vt...), vegeta.Rate{Freq: rate, Per: time.Second}, d, "soak")
	every := d / 10
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	var samples []SoakSample
	requests, errs := 0, 0
	for {
		select {
		case res, ok := <-results:
			if !ok {
				if len(samples) > 0 && time.Since(start)-samples[len(samples)-1].At < every/2 {
					return samples
				}
				return append(samples, sample(start, requests, errs))
			}
			requests++
			if res.Code != http.StatusOK || res.Error != "" {
				errs++
			}
		case <-tick.C:
			samples = append(samples, sample(start, requests, errs))
		case <-ctx.Done():
			attacker.Stop()
		}
	}
}

func sample(start time.Time, requests, errs int) SoakSample {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return SoakSample{At: time.Since(start).Round(time.Second), Requests: requests, Errors: errs, HeapInuse: m.HeapInuse,
		Goroutines: runtime.NumGoroutine(), RSS: currentRSS()}
}

// currentRSS is the resident memory now (Linux; 0 elsewhere).
func currentRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// SoakMarkdown writes the samples and the growth from the first to the
// last.
func SoakMarkdown(w io.Writer, what string, rate int, samples []SoakSample) {
	if len(samples) < 2 {
		return
	}
	fmt.Fprintf(w, "\nSoak: %s, %d requests/s.\n\n", what, rate)
	tableHead(w, "time", "requests", "errors", "heap in use", "goroutines", "RSS")
	mib := func(v float64) string { return fmt.Sprintf("%.1f MiB", v/(1<<20)) }
	for _, s := range samples {
		fmt.Fprintf(w, "| %s | %d | %d | %s | %d | %s |\n", s.At, s.Requests, s.Errors, mib(float64(s.HeapInuse)), s.Goroutines, mib(float64(s.RSS)))
	}
	first, last := samples[0], samples[len(samples)-1]
	fmt.Fprintf(w, "\nFrom %s to %s: heap %+.1f MiB, goroutines %+d, RSS %+.1f MiB.\n", first.At, last.At,
		float64(int64(last.HeapInuse)-int64(first.HeapInuse))/(1<<20), last.Goroutines-first.Goroutines, float64(last.RSS-first.RSS)/(1<<20))
}
