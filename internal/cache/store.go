package cache

import (
	"context"
	"encoding/json"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/switchboard-gw/switchboard/internal/provider"
)

// Entry is a stored answer: the chat completion in the internal (OpenAI)
// shape, whatever format the client spoke, plus what the log needs.
type Entry struct {
	Body      []byte         `json:"body"`
	Created   time.Time      `json:"created"`
	TTL       time.Duration  `json:"ttl"`
	Group     string         `json:"group"`
	Scope     string         `json:"scope"`
	Provider  string         `json:"provider"`
	Model     string         `json:"model"`      // the upstream model that answered
	CostUSD   float64        `json:"cost_usd"`   // what the answer cost when it was made
	Usage     provider.Usage `json:"usage"`      // its tokens, reported again on a hit
	RequestID string         `json:"request_id"` // the request that made it
}

// Age is how old the entry is now.
func (e *Entry) Age(now time.Time) time.Duration { return now.Sub(e.Created) }

// size is the entry's weight in the in-process cache.
func (e *Entry) size() int {
	return len(e.Body) + len(e.Group) + len(e.Scope) + len(e.Provider) + len(e.Model) + len(e.RequestID) + 128
}

// Filter selects entries to purge; empty fields match all.
type Filter struct {
	Group     string
	Scope     string
	OlderThan time.Duration
}

func (f Filter) matches(e *Entry, now time.Time) bool {
	return (f.Group == "" || e.Group == f.Group) && (f.Scope == "" || e.Scope == f.Scope) && (f.OlderThan == 0 || e.Age(now) > f.OlderThan)
}

// Stats describe a backend's content.
type Stats struct {
	Backend string `json:"backend"`
	Entries int64  `json:"entries"`
	Bytes   int64  `json:"bytes"`
}

// Backend stores entries by key.
type Backend interface {
	// Get returns the entry of a key made for group and scope, or nil.
	Get(ctx context.Context, k Key, group, scope string) (*Entry, error)
	Set(ctx context.Context, k Key, e *Entry) error
	Purge(ctx context.Context, f Filter) (int, error)
	Stats(ctx context.Context) (Stats, error)
}

// Memory is the in-process backend, bounded in bytes; entries expire
// after their TTL.
type Memory struct {
	c *otter.Cache[Key, *Entry]
}

// NewMemory holds at most maxBytes of entries.
func NewMemory(maxBytes int64) *Memory {
	return &Memory{c: otter.Must(&otter.Options[Key, *Entry]{
		MaximumWeight:    uint64(maxBytes),
		Weigher:          func(_ Key, e *Entry) uint32 { return uint32(e.size()) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[Key, *Entry]) time.Duration { return e.Value.TTL }),
	})}
}

// Get returns the entry, or nil.
func (m *Memory) Get(_ context.Context, k Key, _, _ string) (*Entry, error) {
	e, ok := m.c.GetIfPresent(k)
	if !ok {
		return nil, nil
	}
	return e, nil
}

// Set stores the entry.
func (m *Memory) Set(_ context.Context, k Key, e *Entry) error {
	m.c.Set(k, e)
	return nil
}

// Purge removes the entries the filter selects.
func (m *Memory) Purge(_ context.Context, f Filter) (int, error) {
	now, n := time.Now(), 0
	for k, e := range m.c.All() {
		if f.matches(e, now) {
			if _, ok := m.c.Invalidate(k); ok {
				n++
			}
		}
	}
	return n, nil
}

// Stats counts entries and bytes.
func (m *Memory) Stats(context.Context) (Stats, error) {
	return Stats{Backend: "memory", Entries: int64(m.c.EstimatedSize()), Bytes: int64(m.c.WeightedSize())}, nil
}

// encode and decode are the Redis form of an entry (compressed by the
// caller).
func encode(e *Entry) ([]byte, error) { return json.Marshal(e) }

func decode(b []byte) (*Entry, error) {
	var e Entry
	return &e, json.Unmarshal(b, &e)
}
