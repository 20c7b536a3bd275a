package reqlog

import (
	"context"
	"log/slog"
	"time"
)

// Pruner deletes old log rows (the store).
type Pruner interface {
	PruneLogs(ctx context.Context, cutoff time.Time) (int64, error)
}

// Prune deletes rows older than retention now and then every interval,
// until ctx ends, so the request log cannot grow without bound.
func Prune(ctx context.Context, p Pruner, retention, interval time.Duration, log *slog.Logger) {
	for {
		n, err := p.PruneLogs(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("request log: pruning failed", "error", err.Error())
		case n > 0:
			log.Info("request log: pruned old entries", "deleted", n, "retention", retention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}
