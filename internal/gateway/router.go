package gateway

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// Deployment is one provider + upstream model serving a group.
type Deployment struct {
	ProviderName string
	Provider     provider.Provider
	// Model is the upstream model id, or "*" in a pattern group, where the
	// part of the client's model name after the prefix is used.
	Model  string
	Weight int
}

// Group is a model name clients send and the deployments behind it.
type Group struct {
	Name        string
	Deployments []Deployment
	Timeout     time.Duration
	DropParams  bool
	// prefix is set for pattern groups ("openai/*" has prefix "openai/").
	prefix      string
	totalWeight int
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
	for _, m := range cfg.Models {
		g := &Group{Name: m.Name, Timeout: m.Timeout.D(), DropParams: m.DropParams}
		if strings.HasSuffix(m.Name, "/*") {
			g.prefix = strings.TrimSuffix(m.Name, "*")
		}
		for _, d := range m.Deployments {
			p, ok := providers[d.Provider]
			if !ok {
				return nil, fmt.Errorf("gateway: model %q: unknown provider %q", m.Name, d.Provider)
			}
			g.Deployments = append(g.Deployments, Deployment{ProviderName: d.Provider, Provider: p, Model: d.Model, Weight: d.Weight})
			g.totalWeight += d.Weight
		}
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

// Names lists every model name, sorted.
func (r *Router) Names() []string { return r.names }

// UpstreamModel is the model to send to a deployment for a pattern
// group's remainder (ignored by exact groups).
func (d *Deployment) UpstreamModel(patternRest string) string { return d.upstreamModel(patternRest) }

// upstreamModel is the model to send to a deployment.
func (d *Deployment) upstreamModel(patternRest string) string {
	if d.Model == "*" {
		return patternRest
	}
	return d.Model
}

// order returns deployment indexes to try: the first picked by weight, the
// rest in their configured order. It allocates only for groups of more
// than a few deployments.
func (g *Group) order(buf []int) []int {
	n := len(g.Deployments)
	buf = buf[:0]
	if n == 1 || g.totalWeight <= 0 {
		for i := range n {
			buf = append(buf, i)
		}
		return buf
	}
	pick := rand.IntN(g.totalWeight)
	first := 0
	for i, d := range g.Deployments {
		if pick < d.Weight {
			first = i
			break
		}
		pick -= d.Weight
	}
	buf = append(buf, first)
	for i := range n {
		if i != first {
			buf = append(buf, i)
		}
	}
	return buf
}
