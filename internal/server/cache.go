package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/auth"
	"github.com/switchboard-gw/switchboard/internal/cache"
	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/limits"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Responses is the response cache a server consults.
type Responses struct {
	Backend cache.Backend
	// Scope is who shares entries: key, team, org or global.
	Scope string
	// HitsCountAgainstLimits makes hits count against rate limits.
	HitsCountAgainstLimits bool
	// Semantic, if set, also finds earlier prompts by meaning, embedded
	// with SemanticModel; SemanticThreshold is the similarity for a hit
	// and SemanticMaxTurns the most user turns a request may hold.
	Semantic          *cache.Index
	SemanticModel     string
	SemanticThreshold float64
	SemanticMaxTurns  int
	flights           cache.Flights
	// What this replica answered since it started.
	hits, misses, bypasses atomic.Int64
}

// CacheStats is the cache's content and this replica's results.
type CacheStats struct {
	cache.Stats
	Scope    string `json:"scope"`
	Hits     int64  `json:"hits"`
	Misses   int64  `json:"misses"`
	Bypasses int64  `json:"bypasses"`
	// SemanticEntries counts the semantic cache's entries (shared by all
	// replicas through the database).
	SemanticEntries int `json:"semantic_entries"`
}

// Stats reports the backend's content and this replica's counts.
func (c *Responses) Stats(ctx context.Context) (CacheStats, error) {
	st, err := c.Backend.Stats(ctx)
	out := CacheStats{Stats: st, Scope: c.Scope, Hits: c.hits.Load(), Misses: c.misses.Load(), Bypasses: c.bypasses.Load()}
	if c.Semantic != nil {
		out.SemanticEntries = c.Semantic.Len()
	}
	return out, err
}

// Purge removes entries, exact and semantic; see cache.Filter.
func (c *Responses) Purge(ctx context.Context, f cache.Filter) (int, error) {
	n, err := c.Backend.Purge(ctx, f)
	if err != nil || c.Semantic == nil {
		return n, err
	}
	m, err := c.Semantic.Purge(ctx, f)
	return n + m, err
}

// count tallies a finished lookup.
func (c *Responses) count(result string) {
	switch result {
	case "hit", "semantic-hit":
		c.hits.Add(1)
	case "miss":
		c.misses.Add(1)
	case "bypass":
		c.bypasses.Add(1)
	}
}

// OpenResponses is the cache the configuration asks for: in Redis when
// `redis:` is set, else in process, plus the semantic index (loaded from
// st) when any group uses it. The caller runs Semantic.Follow, if set.
func OpenResponses(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (*Responses, error) {
	backend, err := cache.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	r := NewResponses(backend, cfg.Cache)
	if cfg.SemanticOn() {
		if r.Semantic, err = cache.NewIndex(ctx, st, log); err != nil {
			return nil, fmt.Errorf("semantic cache: %w", err)
		}
	}
	return r, nil
}

// NewResponses is the cache the configuration asks for, over backend.
func NewResponses(backend cache.Backend, c config.Cache) *Responses {
	r := &Responses{Backend: backend, Scope: c.Scope, HitsCountAgainstLimits: true,
		SemanticModel: c.Semantic.EmbeddingModel, SemanticThreshold: c.Semantic.Threshold, SemanticMaxTurns: c.Semantic.MaxTurns}
	if c.HitsCountAgainstLimits != nil {
		r.HitsCountAgainstLimits = *c.HitsCountAgainstLimits
	}
	return r
}

// cacheControl is what the client's cache-control header asks.
type cacheControl struct {
	noCache, noStore bool
	maxAge           time.Duration // -1: any age
}

func parseCacheControl(h string) cacheControl {
	c := cacheControl{maxAge: -1}
	for _, d := range strings.Split(h, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-cache":
			c.noCache = true
		case d == "no-store":
			c.noStore = true
		case strings.HasPrefix(d, "max-age="):
			if n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age=")); err == nil && n >= 0 {
				c.maxAge = time.Duration(n) * time.Second
			}
		}
	}
	return c
}

// scopeOf names the tenant whose entries a caller may see.
func (c *Responses) scopeOf(p *auth.Principal) string {
	switch {
	case c.Scope == "global":
		return "global"
	case p == nil || p.KeyID == "":
		return "master"
	case c.Scope == "team" && p.TeamID != "":
		return "team:" + p.TeamID
	case c.Scope == "org" && p.Team != nil && p.Team.OrgID != "":
		return "org:" + p.Team.OrgID
	}
	return "key:" + p.KeyID
}

// pendingStore is a miss whose answer will be stored.
type pendingStore struct {
	key    cache.Key
	scope  string
	policy *gateway.CachePolicy
	done   func() // releases the requests waiting on this one
	near   *semanticPending
	body   []byte // a JSON answer (a stream's is assembled in reqState)
}

// cacheLookup serves a request from the cache when it can. It returns
// served when the answer was written; otherwise a pending store for the
// answer the upstream will give (nil when it must not be stored).
func (s *Server) cacheLookup(ctx context.Context, w http.ResponseWriter, r *http.Request, st *reqState, rec *Record,
	group *gateway.Group, f *openai.ChatFields, body []byte, out responder) (served bool, pending *pendingStore) {
	c, policy := s.cache, group.Cache
	if c == nil || policy == nil {
		return false, nil
	}
	rec.Cache = "bypass"
	if st.who != nil && st.who.NoCache {
		return false, nil // the key opted out
	}
	scope := c.scopeOf(st.who)
	key, deterministic, err := cache.KeyFor(cache.Request{Inbound: st.endpoint, Group: group.Name, Scope: scope,
		Namespace: r.Header.Get("X-Switchboard-Cache-Namespace"), Body: body})
	if err != nil || (!deterministic && !policy.NonDeterministic) {
		return false, nil
	}
	ctl := parseCacheControl(r.Header.Get("Cache-Control"))
	lookup := func() bool {
		e, err := c.Backend.Get(ctx, key, group.Name, scope)
		if err != nil {
			st.log.Warn("cache lookup failed", "error", err.Error())
			return false
		}
		if e == nil || (ctl.maxAge >= 0 && e.Age(time.Now()) > ctl.maxAge) {
			return false
		}
		return s.serveHit(ctx, w, st, rec, e, f, out, "hit", 0)
	}
	if !ctl.noCache && lookup() {
		return true, nil
	}
	// By meaning: the nearest earlier prompt in the same partition.
	var near *semanticPending
	if policy.Semantic && c.Semantic != nil {
		near = s.semanticPrompt(ctx, st, group.Name, scope, r.Header.Get("X-Switchboard-Cache-Namespace"), body)
		if near != nil && !ctl.noCache {
			if m := c.Semantic.Search(near.part, near.vec, c.SemanticThreshold); m != nil && (ctl.maxAge < 0 || m.Entry.Age(time.Now()) <= ctl.maxAge) &&
				s.serveHit(ctx, w, st, rec, m.Entry, f, out, "semantic-hit", m.Similarity) {
				return true, nil
			}
		}
	}
	rec.Cache = "miss"
	if ctl.noStore {
		return false, nil
	}
	leader, wait, done := c.flights.Join(key)
	if !leader {
		// An identical request is asking the upstream: wait for its answer.
		select {
		case <-wait:
			if lookup() {
				return true, nil
			}
		case <-ctx.Done():
		}
		rec.Cache = "miss"
	}
	return false, &pendingStore{key: key, scope: scope, policy: policy, done: done, near: near}
}

// serveHit answers from an entry, as JSON or as a replayed stream in the
// client's format. A hit costs nothing against budgets; it counts against
// rate limits if so configured. It reports false (having written nothing)
// if the entry cannot be used.
func (s *Server) serveHit(ctx context.Context, w http.ResponseWriter, st *reqState, rec *Record, e *cache.Entry, f *openai.ChatFields, out responder,
	result string, similarity float64) bool {
	var chunks [][]byte
	var usage provider.Usage
	var jsonBody []byte
	var err error
	if f.Stream {
		chunks, usage, err = cache.Chunks(e.Body, f.IncludeUsage)
	} else {
		usage = e.Usage
		jsonBody, err = out.JSON(e.Body)
	}
	if err != nil {
		st.log.Warn("cache entry unusable", "error", err.Error())
		return false
	}
	if s.cache.HitsCountAgainstLimits && s.limiter != nil {
		if ps, _, _ := policies(st.who, rec.Model); ps != nil {
			for i := range ps {
				ps[i].HasBudget, ps[i].TPM = false, 0 // hits cost nothing and use no tokens
			}
			ticket, aerr := s.limiter.Admit(ctx, ps, limits.Request{})
			if aerr != nil {
				s.fail(w, st, rec, aerr)
				return true
			}
			rec.ticket = ticket
		}
	}
	rec.Cache, rec.Provider, rec.Upstream, rec.Usage, rec.CostSavedUSD, rec.CacheSource = result, e.Provider, e.Model, usage, e.CostUSD, e.RequestID
	rec.Status = http.StatusOK
	h := w.Header()
	st.setHeader(h, "X-Switchboard-Cache", result)
	if result == "semantic-hit" {
		st.setHeader(h, "X-Switchboard-Cache-Similarity", strconv.FormatFloat(similarity, 'f', 4, 64))
	}
	st.setHeader(h, "Age", strconv.Itoa(int(e.Age(time.Now()).Seconds())))
	st.setHeader(h, "X-Switchboard-Provider", e.Provider)
	st.setHeader(h, "X-Switchboard-Model", e.Model)
	st.setHeader(h, "X-Switchboard-Attempts", "0")
	setTiming(st, h, rec, 0)
	if !f.Stream {
		st.setHeader(h, "Content-Type", "application/json")
		st.setHeader(h, "Content-Length", strconv.Itoa(len(jsonBody)))
		w.WriteHeader(http.StatusOK)
		w.Write(jsonBody)
		return true
	}
	st.setHeader(h, "Content-Type", "text/event-stream")
	st.setHeader(h, "Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rec.TTFT = time.Since(st.start)
	for _, c := range chunks {
		if out.Chunk(w, c) != nil {
			rec.Status, rec.Error = provider.StatusClientClosed, "client went away mid-stream"
			return true
		}
	}
	out.Done(w)
	rc.Flush()
	return true
}

// cacheStore stores a miss's answer once it has been sent, then lets the
// requests waiting on it look again. Failures and oversized answers are
// not stored.
func (s *Server) cacheStore(st *reqState, rec *Record, p *pendingStore) {
	defer p.done()
	if rec.Status != http.StatusOK || rec.deployment == nil {
		return
	}
	body := p.body
	if st.asm != nil {
		var ok bool
		if body, ok = st.asm.Complete(rec.Usage); !ok {
			return
		}
	}
	if len(body) == 0 || len(body) > p.policy.MaxEntryBytes {
		return
	}
	cost := 0.0
	if price, ok := rec.deployment.PriceFor(rec.Upstream); ok {
		cost = price.Cost(rec.Usage)
	}
	e := &cache.Entry{Body: body, Created: time.Now(), TTL: p.policy.TTL, Group: rec.Group, Scope: p.scope,
		Provider: rec.Provider, Model: rec.Upstream, CostUSD: cost, Usage: rec.Usage, RequestID: rec.RequestID}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.cache.Backend.Set(ctx, p.key, e); err != nil {
		st.log.Warn("cache store failed", "error", err.Error())
	}
	if p.near != nil {
		if err := s.cache.Semantic.Add(ctx, p.near.part, p.near.vec, e); err != nil {
			st.log.Warn("semantic cache store failed", "error", err.Error())
		}
	}
}
