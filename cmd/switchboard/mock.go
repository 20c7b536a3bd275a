package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/internal/mock"
)

func mockCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mock", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9090", "address to listen on")
	var o mock.Options
	fs.DurationVar(&o.Latency, "latency", 0, "delay before the first byte of each response")
	fs.DurationVar(&o.Jitter, "jitter", 0, "random extra delay, uniform in [0, jitter)")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "share of requests (0..1) answered with a 500")
	fs.Float64Var(&o.TokensPerSecond, "tokens-per-second", 0, "stream pacing (0: as fast as possible)")
	fs.IntVar(&o.FailStatus, "fail-status", 500, "status of the failing share of requests (429 carries Retry-After)")
	fs.DurationVar(&o.RetryAfter, "retry-after", time.Second, "Retry-After sent with a 429")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.FailRate < 0 || o.FailRate > 1 {
		return usageError{fmt.Errorf("mock: --fail-rate must be between 0 and 1, got %v", o.FailRate)}
	}
	if o.Latency < 0 || o.Jitter < 0 || o.TokensPerSecond < 0 {
		return usageError{fmt.Errorf("mock: --latency, --jitter and --tokens-per-second must not be negative")}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("mock: %w", err)
	}
	hs := &http.Server{Handler: mock.New(o), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "switchboard mock listening on http://%s\n  OpenAI:    base_url http://%[1]s/v1\n  Azure:     base_url http://%[1]s\n  Anthropic: base_url http://%[1]s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("mock: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}
