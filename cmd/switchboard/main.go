// Command switchboard is an LLM API gateway: one OpenAI-compatible endpoint
// in front of every major provider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `Switchboard — an LLM API gateway.

Usage:
  switchboard serve [--config FILE] [--demo]
  switchboard mock [--listen ADDR] [--latency DUR] [--jitter DUR] [--fail-rate F] [--tokens-per-second N]
  switchboard keys create|list|revoke [--config FILE] ...
  switchboard admin bootstrap --email EMAIL [--config FILE]
  switchboard migrate [--config FILE]
  switchboard credentials reencrypt [--config FILE]
  switchboard bench [--duration D] [--concurrency N] [--rate R] [--latency D] [--scenarios a,b] [--out FILE] [--cpuprofile FILE]
  switchboard version

Run "switchboard COMMAND --help" for a command's flags.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stdout, stderr, getenv)
	case "mock":
		err = mockCmd(ctx, args[1:], stdout, stderr)
	case "keys":
		err = keysCmd(ctx, args[1:], stdout, stderr, getenv)
	case "admin":
		err = adminCmd(ctx, args[1:], stdout, stderr, getenv)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout, stderr, getenv)
	case "credentials":
		err = credentialsCmd(ctx, args[1:], stdout, stderr, getenv)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr, getenv)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "switchboard", versionString())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "switchboard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintln(stderr, "switchboard:", err)
			return 2
		}
		fmt.Fprintln(stderr, "switchboard:", err)
		return 1
	}
	return 0
}

// usageError is a mistake in the command line.
type usageError struct{ error }

func versionString() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
