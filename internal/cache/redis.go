package cache

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/redis/go-redis/v9"
)

// Redis is the backend shared by every replica: entries are compressed
// (zstd) and expire by Redis TTL. Keys name the group and scope, so a
// purge by either scans only what it removes.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis stores entries under prefix (e.g. "sb:cache:").
func NewRedis(c redis.UniversalClient, prefix string) *Redis { return &Redis{c: c, prefix: prefix} }

var (
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	zdec, _ = zstd.NewReader(nil)
)

func (r *Redis) name(group, scope string, k Key) string {
	return r.prefix + hex.EncodeToString([]byte(group)) + ":" + hex.EncodeToString([]byte(scope)) + ":" + hex.EncodeToString(k[:])
}

// pattern matches the names a filter selects (hex needs no glob escaping).
func (r *Redis) pattern(f Filter) string {
	p := r.prefix
	if f.Group != "" {
		p += hex.EncodeToString([]byte(f.Group)) + ":"
	} else {
		p += "*:"
	}
	if f.Scope != "" {
		p += hex.EncodeToString([]byte(f.Scope)) + ":"
	} else {
		p += "*:"
	}
	return p + "*"
}

// Get reads the entry of a key made for group and scope, or nil.
func (r *Redis) Get(ctx context.Context, k Key, group, scope string) (*Entry, error) {
	return r.read(ctx, r.name(group, scope, k))
}

func (r *Redis) read(ctx context.Context, name string) (*Entry, error) {
	b, err := r.c.Get(ctx, name).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	plain, err := zdec.DecodeAll(b, nil)
	if err != nil {
		return nil, err
	}
	return decode(plain)
}

// Set stores the entry for its TTL.
func (r *Redis) Set(ctx context.Context, k Key, e *Entry) error {
	plain, err := encode(e)
	if err != nil {
		return err
	}
	return r.c.Set(ctx, r.name(e.Group, e.Scope, k), zenc.EncodeAll(plain, nil), e.TTL).Err()
}

// Purge removes the entries the filter selects.
func (r *Redis) Purge(ctx context.Context, f Filter) (int, error) {
	n := 0
	now := time.Now()
	err := r.scan(ctx, f, func(names []string) error {
		if f.OlderThan > 0 {
			var old []string
			for _, name := range names {
				if e, err := r.read(ctx, name); err == nil && e != nil && f.matches(e, now) {
					old = append(old, name)
				}
			}
			names = old
		}
		if len(names) == 0 {
			return nil
		}
		deleted, err := r.c.Del(ctx, names...).Result()
		n += int(deleted)
		return err
	})
	return n, err
}

// Stats counts entries and their compressed bytes.
func (r *Redis) Stats(ctx context.Context) (Stats, error) {
	st := Stats{Backend: "redis"}
	err := r.scan(ctx, Filter{}, func(names []string) error {
		pipe := r.c.Pipeline()
		lens := make([]*redis.IntCmd, len(names))
		for i, name := range names {
			lens[i] = pipe.StrLen(ctx, name)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for _, l := range lens {
			st.Entries++
			st.Bytes += l.Val()
		}
		return nil
	})
	return st, err
}

func (r *Redis) scan(ctx context.Context, f Filter, each func([]string) error) error {
	iter := r.c.Scan(ctx, 0, r.pattern(f), 500).Iterator()
	var batch []string
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := each(batch); err != nil {
				return err
			}
			batch = nil
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	if len(batch) > 0 {
		return each(batch)
	}
	return nil
}
