package cache

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/store"
)

// Index is the semantic cache: earlier prompts' embeddings, searched for
// the most similar one within the same partition — scope, model group and
// everything else the request held. Search is exact (a scan of the
// partition, which holds one tenant's prompts for one group and context).
// Entries are persisted in the database, so the index survives restarts
// and every replica follows the others by polling.
type Index struct {
	st  *store.Store
	log *slog.Logger

	mu    sync.RWMutex
	parts map[string][]*semEntry
	ids   map[string]bool
	seen  time.Time // newest created_at loaded
}

type semEntry struct {
	id      string
	vec     []float32
	entry   *Entry
	expires time.Time
}

// NewIndex loads the stored entries.
func NewIndex(ctx context.Context, st *store.Store, log *slog.Logger) (*Index, error) {
	x := &Index{st: st, log: log}
	return x, x.reload(ctx)
}

// Len counts the live entries indexed.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.live(time.Now())
}

// Match is a similar earlier prompt's answer.
type Match struct {
	Entry      *Entry
	Similarity float64
}

// Search returns the most similar live entry at or above threshold.
func (x *Index) Search(part string, v []float32, threshold float64) *Match {
	now := time.Now()
	x.mu.RLock()
	defer x.mu.RUnlock()
	var best *semEntry
	bestSim := threshold
	for _, e := range x.parts[part] {
		if now.After(e.expires) || len(e.vec) != len(v) {
			continue
		}
		if sim := dot(e.vec, v); sim >= bestSim {
			best, bestSim = e, sim
		}
	}
	if best == nil {
		return nil
	}
	return &Match{Entry: best.entry, Similarity: bestSim}
}

// Add stores an entry and indexes it at once on this replica.
func (x *Index) Add(ctx context.Context, part string, v []float32, e *Entry) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	row := store.SemanticRow{ID: store.NewID("sem_"), Part: part, Vector: encodeVector(v), Entry: string(body), CreatedAt: e.Created, ExpiresAt: e.Created.Add(e.TTL)}
	if err := x.st.PutSemantic(ctx, row); err != nil {
		return err
	}
	x.mu.Lock()
	x.add(row.ID, part, v, e, row.ExpiresAt)
	x.mu.Unlock()
	return nil
}

// add indexes an entry; the caller holds mu.
func (x *Index) add(id, part string, v []float32, e *Entry, expires time.Time) {
	if x.ids[id] {
		return
	}
	x.ids[id] = true
	x.parts[part] = append(x.parts[part], &semEntry{id: id, vec: v, entry: e, expires: expires})
}

// Follow loads what other replicas add (and notices deletions) every
// interval until ctx ends, and prunes expired entries.
func (x *Index) Follow(ctx context.Context, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if err := x.sync(ctx); err != nil && ctx.Err() == nil {
			x.log.Warn("semantic cache: sync failed", "error", err.Error())
		}
	}
}

// sync loads entries created since shortly before the newest one seen
// (commits can land out of order), or everything if the stored count
// shows deletions.
func (x *Index) sync(ctx context.Context) error {
	now := time.Now()
	if _, err := x.st.PruneSemantic(ctx, now); err != nil {
		return err
	}
	n, err := x.st.SemanticCount(ctx, now)
	if err != nil {
		return err
	}
	x.mu.RLock()
	since, loaded := x.seen.Add(-30*time.Second), x.live(now)
	x.mu.RUnlock()
	if n < loaded {
		return x.reload(ctx)
	}
	return x.load(ctx, since)
}

// live counts unexpired entries; the caller holds mu.
func (x *Index) live(now time.Time) int {
	n := 0
	for _, es := range x.parts {
		for _, e := range es {
			if now.Before(e.expires) {
				n++
			}
		}
	}
	return n
}

// reload replaces the index with what is stored.
func (x *Index) reload(ctx context.Context) error {
	x.mu.Lock()
	x.parts, x.ids, x.seen = map[string][]*semEntry{}, map[string]bool{}, time.Time{}
	x.mu.Unlock()
	return x.load(ctx, time.Time{})
}

func (x *Index) load(ctx context.Context, since time.Time) error {
	for {
		rows, err := x.st.SemanticSince(ctx, since, time.Now(), 1000)
		if err != nil {
			return err
		}
		x.mu.Lock()
		for _, r := range rows {
			v, err := DecodeVector(r.Vector)
			e := &Entry{}
			if err != nil || json.Unmarshal([]byte(r.Entry), e) != nil {
				continue
			}
			x.add(r.ID, r.Part, v, e, r.ExpiresAt)
			if r.CreatedAt.After(x.seen) {
				x.seen = r.CreatedAt
			}
		}
		x.mu.Unlock()
		if len(rows) < 1000 || rows[len(rows)-1].CreatedAt.Equal(since) {
			return nil
		}
		since = rows[len(rows)-1].CreatedAt
	}
}

// Purge deletes the entries the filter selects, stored and indexed.
func (x *Index) Purge(ctx context.Context, f Filter) (int, error) {
	now := time.Now()
	var ids []string
	x.mu.Lock()
	for part, es := range x.parts {
		kept := es[:0]
		for _, e := range es {
			if f.matches(e.entry, now) {
				ids = append(ids, e.id)
				delete(x.ids, e.id)
				continue
			}
			kept = append(kept, e)
		}
		x.parts[part] = kept
	}
	x.mu.Unlock()
	return x.st.DeleteSemantic(ctx, ids)
}

// Normalize scales v to unit length, so similarity is a dot product.
func Normalize(v []float32) []float32 {
	var sum float64
	for _, f := range v {
		sum += float64(f) * float64(f)
	}
	if sum == 0 {
		return v
	}
	inv := float32(1 / math.Sqrt(sum))
	out := make([]float32, len(v))
	for i, f := range v {
		out[i] = f * inv
	}
	return out
}

func dot(a, b []float32) float64 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return float64(s)
}

func encodeVector(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// DecodeVector reads base64 of little-endian float32s: how vectors are
// stored here, and OpenAI's base64 embedding encoding.
func DecodeVector(s string) ([]float32, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}
