package gateway

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/pricing"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/route"
)

// Deployment is one provider + upstream model serving a group.
type Deployment struct {
	ProviderName string
	Provider     provider.Provider
	// ProviderType is the provider's type (openai, anthropic, ...) and
	// Host its base URL's host, "" for the type's default: for traces.
	ProviderType, Host string
	// Model is the upstream model id, or "*" in a pattern group, where the
	// part of the client's model name after the prefix is used.
	Model string
	// Target is the deployment's live state, shared by every group that
	// uses the same provider and model.
	Target *route.Target
	// Price is the deployment's override or catalog price; nil when
	// unknown (or, for pattern deployments, looked up per request).
	Price *pricing.Price
}

// PriceFor returns the price of a request served by the deployment.
func (d *Deployment) PriceFor(upstreamModel string) (pricing.Price, bool) {
	if d.Price != nil {
		return *d.Price, true
	}
	return pricing.Default().Lookup(upstreamModel)
}

// Group is a model name clients send and the deployments behind it.
type Group struct {
	Name        string
	Deployments []Deployment
	Timeout     time.Duration
	DropParams  bool
	Retry       config.Retry
	// Fallback group names, tried in order after this group's deployments.
	Fallbacks              []string
	ContextWindowFallbacks []string
	ContentPolicyFallbacks []string
	ContextWindow          int64
	FirstTokenTimeout      time.Duration
	IdleTimeout            time.Duration
	// LogPayloads keeps the group's prompts and completions in the log.
	LogPayloads bool
	// Cache is the group's response-cache policy; nil when off.
	Cache *CachePolicy

	balancer *route.Balancer
	// prefix is set for pattern groups ("openai/*" has prefix "openai/").
	prefix string
}

// CachePolicy is how a group's answers are cached.
type CachePolicy struct {
	TTL              time.Duration
	NonDeterministic bool // cache requests not asking for temperature 0 too
	MaxEntryBytes    int
	// Semantic also looks up earlier prompts by meaning.
	Semantic bool
}

// cachePolicy merges the global cache block with a model's own.
func cachePolicy(global config.Cache, m *config.ModelCache) *CachePolicy {
	on := global.Enabled
	if m != nil {
		on = m.Enabled
	}
	if !on {
		return nil
	}
	p := &CachePolicy{TTL: global.TTL.D(), NonDeterministic: global.NonDeterministic, MaxEntryBytes: global.MaxEntryBytes,
		Semantic: global.Semantic.Enabled || (m != nil && m.Semantic)}
	if m != nil {
		if m.TTL > 0 {
			p.TTL = m.TTL.D()
		}
		if m.NonDeterministic != nil {
			p.NonDeterministic = *m.NonDeterministic
		}
		if m.MaxEntryBytes > 0 {
			p.MaxEntryBytes = m.MaxEntryBytes
		}
	}
	return p
}

// Router maps model names to groups.
type Router struct {
	exact    map[string]*Group
	patterns []*Group // longest prefix first
	names    []string
}

// NewRouter builds the routing table from config and built providers.
func NewRouter(cfg *config.Config, providers map[string]provider.Provider) (*Router, error) {
	r := &Router{exact: map[string]*Group{}}
	bc := route.BreakerConfig{Failures: cfg.CircuitBreaker.Failures, Cooldown: cfg.CircuitBreaker.Cooldown.D(), Probes: cfg.CircuitBreaker.Probes}
	targets := map[string]*route.Target{}
	kinds := map[string]config.Provider{}
	for _, p := range cfg.Providers {
		kinds[p.Name] = p
	}
	for _, m := range cfg.Models {
		g := &Group{Name: m.Name, Timeout: m.Timeout.D(), DropParams: m.DropParams, LogPayloads: m.LogPayloads, Cache: cachePolicy(cfg.Cache, m.Cache), Retry: m.Retry,
			Fallbacks: m.Fallbacks, ContextWindowFallbacks: m.ContextWindowFallbacks, ContentPolicyFallbacks: m.ContentPolicyFallbacks,
			ContextWindow: m.ContextWindow, FirstTokenTimeout: m.FirstTokenTimeout.D(), IdleTimeout: m.IdleTimeout.D()}
		if strings.HasSuffix(m.Name, "/*") {
			g.prefix = strings.TrimSuffix(m.Name, "*")
		}
		if len(m.Deployments) > 64 {
			return nil, fmt.Errorf("gateway: model %q: at most 64 deployments", m.Name)
		}
		var ts []*route.Target
		for _, d := range m.Deployments {
			p, ok := providers[d.Provider]
			if !ok {
				return nil, fmt.Errorf("gateway: model %q: unknown provider %q", m.Name, d.Provider)
			}
			var price *pricing.Price
			switch {
			case d.Price != nil:
				price = &pricing.Price{Input: d.Price.InputPerMTok, Output: d.Price.OutputPerMTok,
					CachedInput: d.Price.CachedInputPerMTok, CacheWrite: d.Price.CacheWritePerMTok, PerRequest: d.Price.PerRequest}
			case d.Model != "*":
				if p, ok := pricing.Default().Lookup(d.Model); ok {
					price = &p
				}
			}
			key := d.Provider + "\x00" + d.Model
			t := targets[key]
			if t == nil || d.Model == "*" {
				listPrice := 0.0
				if price != nil {
					listPrice = price.Input + price.Output
				}
				t = route.NewTarget(d.Weight, d.Priority, listPrice, d.RPM, d.TPM, bc)
				targets[key] = t
			}
			ts = append(ts, t)
			host := ""
			if u, err := url.Parse(kinds[d.Provider].BaseURL); err == nil {
				host = u.Host
			}
			g.Deployments = append(g.Deployments, Deployment{ProviderName: d.Provider, Provider: p, ProviderType: kinds[d.Provider].Type, Host: host,
				Model: d.Model, Target: t, Price: price})
		}
		g.balancer = route.NewBalancer(m.Strategy, ts)
		if g.prefix != "" {
			r.patterns = append(r.patterns, g)
		} else {
			r.exact[m.Name] = g
		}
		r.names = append(r.names, m.Name)
	}
	sort.SliceStable(r.patterns, func(i, j int) bool { return len(r.patterns[i].prefix) > len(r.patterns[j].prefix) })
	sort.Strings(r.names)
	return r, nil
}

// Resolve finds the group for a client's model name and, for a pattern
// group, the upstream model the name asks for.
func (r *Router) Resolve(model string) (g *Group, upstream string, ok bool) {
	if g, ok := r.exact[model]; ok {
		return g, "", true
	}
	for _, g := range r.patterns {
		if rest, ok := strings.CutPrefix(model, g.prefix); ok && rest != "" {
			return g, rest, true
		}
	}
	return nil, "", false
}

// Group returns an exact group by name (fallbacks are never patterns).
func (r *Router) Group(name string) *Group { return r.exact[name] }

// Deployments calls fn once for each distinct deployment (provider and
// upstream model) of every group, exact and pattern.
func (r *Router) Deployments(fn func(d *Deployment)) {
	seen := map[*route.Target]bool{}
	visit := func(g *Group) {
		for i := range g.Deployments {
			if d := &g.Deployments[i]; !seen[d.Target] {
				seen[d.Target] = true
				fn(d)
			}
		}
	}
	for _, name := range r.names {
		if g, ok := r.exact[name]; ok {
			visit(g)
		}
	}
	for _, g := range r.patterns {
		visit(g)
	}
}

// Names lists every model name, sorted.
func (r *Router) Names() []string { return r.names }

// Balancer exposes the group's balancer (for tests and benchmarks).
func (g *Group) Balancer() *route.Balancer { return g.balancer }

// UpstreamModel is the model to send to a deployment for a pattern
// group's remainder (ignored by exact groups).
func (d *Deployment) UpstreamModel(patternRest string) string {
	if d.Model == "*" {
		return patternRest
	}
	return d.Model
}
