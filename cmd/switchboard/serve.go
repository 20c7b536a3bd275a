package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/internal/admin"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/demo"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/live"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/provider"
	_ "github.com/switchboard-gw/switchboard/internal/provider/all"
	"github.com/switchboard-gw/switchboard/internal/reqlog"
	"github.com/switchboard-gw/switchboard/internal/secret"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
	"github.com/switchboard-gw/switchboard/internal/telemetry"
)

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config `file` (default: providers from environment variables)")
	demoMode := fs.Bool("demo", false, "run with simulated providers, no keys, auth off, loopback only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))}
	}

	var (
		cfg *config.Config
		err error
	)
	var stopMock func()
	switch {
	case *demoMode && *configPath != "":
		return usageError{errors.New("serve: --demo and --config cannot be combined")}
	case *demoMode:
		listen := getenv("SWITCHBOARD_LISTEN")
		if listen == "" {
			listen = config.DefaultListen
		}
		mockURL, stop, err := startDemoMock()
		if err != nil {
			return err
		}
		stopMock = stop
		cfg = demo.Config(listen, mockURL)
		if err := cfg.Validate(); err != nil {
			stop()
			return err
		}
	case *configPath != "":
		cfg, err = config.Load(*configPath, getenv)
	default:
		cfg, err = config.FromEnv(getenv, provider.EnvSpecs())
	}
	if err != nil {
		return err
	}
	if stopMock != nil {
		defer stopMock()
	}
	if len(cfg.Providers) == 0 {
		return fmt.Errorf("serve: no providers configured: pass --config FILE, set a provider key such as OPENAI_API_KEY or ANTHROPIC_API_KEY, or try --demo")
	}

	log := newLogger(stderr, cfg.Log.Level)
	dsn := cfg.Database
	if cfg.Demo {
		dsn = "sqlite://:memory:" // the demo writes no files
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	ring, err := secret.ForConfig(cfg)
	if err != nil {
		return err
	}
	// Providers and model groups: the file's plus those defined through
	// the admin API. Credentials they name are opened on every build; a
	// missing one stops the start.
	runtime := live.New(cfg, st, ring, log)
	gw, err := runtime.Initial(ctx)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	secret := cfg.SecretKey
	if secret == "" {
		secret = auth.DeriveSecret(cfg.MasterKey)
	}
	authn := auth.NewAuthenticator(cfg.MasterKey, auth.NewHasher(secret), st, 30*time.Second)
	limiter, redisPing, err := limits.Open(ctx, cfg.Redis)
	if err != nil {
		return err
	}
	logOpts, err := reqlog.OptionsFor(cfg)
	if err != nil {
		return fmt.Errorf("serve: log.payloads.redact: %w", err)
	}
	pruneCtx, stopPruning := context.WithCancel(context.Background())
	defer stopPruning()
	var logs *reqlog.Writer // nil: log.requests is off
	if cfg.Log.RequestLog() {
		logs = reqlog.New(st, log, logOpts)
		// Flushed after the HTTP server has drained: every finished
		// request is in the log before the process exits.
		defer logs.Close()
	}
	go reqlog.Prune(pruneCtx, st, cfg.Log.Retention.D(), time.Hour, log)
	go runtime.Watch(pruneCtx, 5*time.Second) // other replicas' changes
	adm := admin.New(st, authn, log)
	adm.Secrets, adm.Limiter, adm.Runtime = ring, limiter, runtime
	responses, err := server.OpenResponses(ctx, cfg, st, log)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	adm.Cache = responses
	if responses.Semantic != nil {
		go responses.Semantic.Follow(pruneCtx, 2*time.Second) // other replicas' entries
	}
	metrics := telemetry.NewMetrics()
	tracer, err := telemetry.NewTracer(ctx, cfg.Tracing, getenv, log)
	if err != nil {
		return fmt.Errorf("serve: tracing: %w", err)
	}
	if tracer != nil {
		// Exported after the HTTP server has drained, before exit.
		defer func() {
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tracer.Shutdown(flush); err != nil {
				log.Warn("tracing: final export failed", "error", err.Error())
			}
		}()
	}
	srv := server.New(server.Options{Config: cfg, Gateway: gw, Log: log, Auth: authn, Store: readiness{st, redisPing},
		Admin: adm, Limiter: limiter, Metrics: metrics.Handler(), Feedback: st, Tracing: tracer != nil,
		Cache: responses, OnRecord: metrics.Recorder(tracer, logs)})
	metrics.Watch(srv, logs, st, limiter, responses.Backend)
	runtime.Serve(srv)

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	addr := ln.Addr().String()
	log.Info("switchboard listening", "addr", addr, "config", cfg.Source, "providers", len(cfg.Providers), "models", len(cfg.Models))
	if cfg.Demo {
		printDemoBanner(stdout, addr)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	grace := cfg.ShutdownGrace.D()
	log.Info("shutting down: finishing in-flight requests", "grace", grace.String())
	srv.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("grace period over: closing remaining connections", "error", err.Error())
		hs.Close()
	}
	log.Info("stopped")
	return nil
}

// readiness is ready when the database and Redis (if any) answer.
type readiness struct {
	st    *store.Store
	redis func(context.Context) error
}

func (r readiness) Ping(ctx context.Context) error {
	if err := r.st.Ping(ctx); err != nil {
		return err
	}
	return r.redis(ctx)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// startDemoMock runs simulated providers on a loopback port.
func startDemoMock() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo: %w", err)
	}
	ms := &http.Server{Handler: mock.New(mock.Options{Latency: 20 * time.Millisecond, TokensPerSecond: 200}), ReadHeaderTimeout: 10 * time.Second}
	go ms.Serve(ln)
	return "http://" + ln.Addr().String(), func() { ms.Close() }, nil
}

func printDemoBanner(w io.Writer, addr string) {
	fmt.Fprintf(w, `
Switchboard demo is running on http://%[1]s (simulated providers, no auth).
Models: demo-gpt, demo-claude (Anthropic behind the OpenAI API), demo-balanced, demo-embed.

Try:
  curl http://%[1]s/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"demo-gpt","messages":[{"role":"user","content":"Hello!"}]}'

Stream, through the Anthropic translation:
  curl -N http://%[1]s/v1/chat/completions -H 'Content-Type: application/json' \
    -d '{"model":"demo-claude","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'

Press Ctrl+C to stop.
`, addr)
}
