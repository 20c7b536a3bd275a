package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The harness starts everything it needs, measures each target and
// writes the tables (a short run: the numbers are not checked here).
func TestBenchHarness(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.md")
	var stdout, stderr syncBuffer
	code := run(context.Background(), []string{"bench", "--duration", "200ms", "--concurrency", "4", "--rate", "50", "--latency", "5ms",
		"--scenarios", "full,cache-hit,stream,streams,soak", "--streams", "20", "--conns", "8", "--soak", "1s", "--soak-rate", "40", "--out", out}, &stdout, &stderr, envOf(nil))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	written, _ := os.ReadFile(out)
	for _, want := range []string{"| full | switchboard | closed |", "| cache-hit | reverse proxy | closed |", "| full | direct | open 50/s |", "gateway ÷ direct", "Peak RSS",
		"| stream | switchboard |", "| stream | added by Switchboard |", "| stream | added by the reverse proxy |", "| 20 | ", "| full | switchboard | closed, 8 conns |", "| full | 8 | 5.00 ms |",
		"Soak: ", "goroutines"} {
		if !strings.Contains(string(written), want) {
			t.Errorf("no %q in:\n%s", want, written)
		}
	}
	if strings.Contains(string(written), "| lean |") {
		t.Error("ran a scenario not asked for")
	}
	for _, line := range strings.Split(string(written), "\n") {
		if strings.HasPrefix(line, "| full |") || strings.HasPrefix(line, "| cache-hit |") {
			if fields := strings.Split(line, "|"); len(fields) > 10 && strings.TrimSpace(fields[10]) != "0" && strings.Contains(line, "closed") {
				t.Errorf("errors in %s", line)
			}
		}
	}
	if code := run(context.Background(), []string{"bench", "--scenarios", "lean", "--duration", "nope"}, &stdout, &stderr, envOf(nil)); code == 0 {
		t.Error("a bad flag was accepted")
	}
}
