package cache

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/switchboard-gw/switchboard/internal/config"
)

// Open builds the backend the configuration names: Redis when `redis:` is
// set (shared by every replica), else in process, bounded by
// cache.max_bytes.
func Open(ctx context.Context, cfg *config.Config) (Backend, error) {
	if cfg.Redis == "" {
		return NewMemory(cfg.Cache.MaxBytes), nil
	}
	opt, err := redis.ParseURL(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("cache: redis: %w", err)
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cache: redis %s: %w", opt.Addr, err)
	}
	return NewRedis(c, "sb:cache:"), nil
}
