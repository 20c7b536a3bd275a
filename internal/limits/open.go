package limits

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Open returns the Redis backend for a redis:// URL, or the in-process one
// for "". The returned ping reports the backend's health for /readyz.
func Open(ctx context.Context, url string) (*Limiter, func(context.Context) error, error) {
	if url == "" {
		return New(NewMemory()), func(context.Context) error { return nil }, nil
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, nil, fmt.Errorf("limits: redis: %w", err)
	}
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, nil, fmt.Errorf("limits: redis %s: %w", opt.Addr, err)
	}
	return New(NewRedis(c, "sb:")), func(ctx context.Context) error { return c.Ping(ctx).Err() }, nil
}
