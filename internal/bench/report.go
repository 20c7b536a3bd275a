package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Scenario is one gateway configuration measured against the direct call
// and the baseline proxy in the same run.
type Scenario struct {
	Name, What string
	// Closed-loop maximum throughput: direct, proxy, gateway.
	Direct, Proxy, Gateway Result
	// Open-loop latency at a fixed rate: direct and gateway.
	DirectOpen, GatewayOpen Result
	Rate                    int
	// Conns clients in a closed loop against the slow upstream: direct
	// and gateway (how many connections it holds without falling behind).
	DirectConns, ProxyConns, GatewayConns Result
	Conns                                 int
	Latency                               time.Duration // the slow upstream's
}

// Markdown writes the scenarios as tables, with the ratios the targets
// are stated in.
func Markdown(w io.Writer, scenarios []Scenario, machine, command string, peakRSS int64) {
	fmt.Fprintf(w, "Machine: %s. Command: `%s`. Peak RSS of the whole run (load generator, upstream and gateways in one process): %.0f MiB.\n\n", machine, command, float64(peakRSS)/(1<<20))
	if len(scenarios) == 0 {
		return
	}
	tableHead(w, "scenario", "target", "loop", "req/s", "p50", "p90", "p99", "p99.9", "CPU/req", "errors")
	row := func(s Scenario, r Result, loop string) {
		if r.Requests == 0 {
			return
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %d |\n", s.Name, r.Target, loop, r.Throughput,
			d(r.P50), d(r.P90), d(r.P99), d(r.P999), d(r.CPUPerReq), r.Errors)
	}
	for _, s := range scenarios {
		row(s, s.Direct, "closed")
		row(s, s.Proxy, "closed")
		row(s, s.Gateway, "closed")
		row(s, s.DirectOpen, fmt.Sprintf("open %d/s", s.Rate))
		row(s, s.GatewayOpen, fmt.Sprintf("open %d/s", s.Rate))
		row(s, s.DirectConns, fmt.Sprintf("closed, %d conns", s.Conns))
		row(s, s.ProxyConns, fmt.Sprintf("closed, %d conns", s.Conns))
		row(s, s.GatewayConns, fmt.Sprintf("closed, %d conns", s.Conns))
	}
	fmt.Fprintln(w)
	tableHead(w, "scenario", "what", "gateway ÷ direct (req/s)", "gateway ÷ proxy (req/s)", "added p50", "added p99", "added p99.9")
	for _, s := range scenarios {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", s.Name, s.What,
			ratio(s.Gateway.Throughput, s.Direct.Throughput), ratio(s.Gateway.Throughput, s.Proxy.Throughput),
			added(s.GatewayOpen.P50, s.DirectOpen.P50), added(s.GatewayOpen.P99, s.DirectOpen.P99), added(s.GatewayOpen.P999, s.DirectOpen.P999))
	}
}

// ConnsMarkdown writes the many-connections comparison: throughput and
// added latency with every client waiting on a slow upstream.
func ConnsMarkdown(w io.Writer, scenarios []Scenario) {
	if len(scenarios) == 0 {
		return
	}
	fmt.Fprintln(w)
	tableHead(w, "scenario", "connections", "upstream latency", "direct req/s", "proxy req/s", "gateway req/s", "proxy ÷ direct", "gateway ÷ direct", "gateway ÷ proxy", "added p50", "added p99")
	for _, s := range scenarios {
		if s.GatewayConns.Requests == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %d | %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s |\n", s.Name, s.Conns, d(s.Latency),
			s.DirectConns.Throughput, s.ProxyConns.Throughput, s.GatewayConns.Throughput, ratio(s.ProxyConns.Throughput, s.DirectConns.Throughput),
			ratio(s.GatewayConns.Throughput, s.DirectConns.Throughput), ratio(s.GatewayConns.Throughput, s.ProxyConns.Throughput), added(s.GatewayConns.P50, s.DirectConns.P50), added(s.GatewayConns.P99, s.DirectConns.P99))
	}
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

func added(g, direct time.Duration) string {
	if g == 0 || direct == 0 {
		return "–"
	}
	return d(g - direct)
}

// d writes a duration in the unit that suits it.
func d(v time.Duration) string {
	switch {
	case v == 0:
		return "–"
	case v < 0:
		return "−" + strings.TrimPrefix(d(-v), "−")
	case v < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(v)/float64(time.Microsecond))
	case v < time.Second:
		return fmt.Sprintf("%.2f ms", float64(v)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2f s", v.Seconds())
}

// StreamScenario compares a stream through the gateway with the same
// stream straight from the upstream.
type StreamScenario struct {
	Name, What             string
	Direct, Proxy, Gateway StreamResult
}

// StreamMarkdown writes the streaming comparison.
func StreamMarkdown(w io.Writer, scenarios []StreamScenario) {
	if len(scenarios) == 0 {
		return
	}
	fmt.Fprintln(w)
	tableHead(w, "scenario", "target", "streams", "first byte p50", "first byte p99", "chunk gap p50", "chunk gap p99", "errors")
	for _, s := range scenarios {
		for _, r := range []StreamResult{s.Direct, s.Proxy, s.Gateway} {
			if r.Target == "" {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %d |\n", s.Name, r.Target, r.Streams, d(r.TTFB50), d(r.TTFB99), d(r.Gap50), d(r.Gap99), r.Errors)
		}
		for _, r := range []StreamResult{s.Proxy, s.Gateway} {
			if r.Target == "" {
				continue
			}
			by := "the " + r.Target
			if r.Target == "switchboard" {
				by = "Switchboard"
			}
			fmt.Fprintf(w, "| %s | added by %s | | %s | %s | %s | %s | |\n", s.Name, by,
				added(r.TTFB50, s.Direct.TTFB50), added(r.TTFB99, s.Direct.TTFB99), added(r.Gap50, s.Direct.Gap50), added(r.Gap99, s.Direct.Gap99))
		}
	}
}

// Held is the memory of many open streams, direct and through the
// gateway; the difference is what the gateway holds per stream.
type Held struct {
	Streams         int
	Direct, Gateway int64 // bytes per stream, every side included
}

// HeldMarkdown writes the open-streams measurement.
func HeldMarkdown(w io.Writer, h *Held) {
	if h == nil {
		return
	}
	fmt.Fprintln(w)
	tableHead(w, "open streams", "memory per stream, direct (client + upstream)", "through Switchboard (client + gateway + upstream)", "Switchboard's share")
	fmt.Fprintf(w, "| %d | %.1f KiB | %.1f KiB | %.1f KiB |\n", h.Streams, float64(h.Direct)/1024, float64(h.Gateway)/1024, float64(h.Gateway-h.Direct)/1024)
}

// tableHead writes a markdown table's header row and separator.
func tableHead(w io.Writer, columns ...string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat("---|", len(columns)))
}
