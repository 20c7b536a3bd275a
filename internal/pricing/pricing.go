// Package pricing holds the embedded price catalog and computes what a
// request cost. A model with no price is reported unpriced — never costed
// at $0 silently.
package pricing

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/switchboard-gw/switchboard/internal/provider"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Price is a model's list price in USD per million tokens.
type Price struct {
	Input       float64 `yaml:"input"`
	Output      float64 `yaml:"output"`
	CachedInput float64 `yaml:"cached_input"`
	CacheWrite  float64 `yaml:"cache_write"`
	PerRequest  float64 `yaml:"per_request"` // USD per request
}

// Catalog is the embedded price list.
type Catalog struct {
	Version string           `yaml:"version"`
	Models  map[string]Price `yaml:"models"`
	keys    []string         // longest first, for prefix matching
}

var defaultCatalog = mustLoad()

func mustLoad() *Catalog {
	c, err := Parse(catalogYAML)
	if err != nil {
		panic("pricing: embedded catalog: " + err.Error())
	}
	return c
}

// Parse reads a catalog.
func Parse(b []byte) (*Catalog, error) {
	var c Catalog
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	for k := range c.Models {
		c.keys = append(c.keys, k)
	}
	sort.Slice(c.keys, func(i, j int) bool { return len(c.keys[i]) > len(c.keys[j]) })
	if len(c.keys) == 0 {
		return nil, fmt.Errorf("no models")
	}
	return &c, nil
}

// Default is the embedded catalog.
func Default() *Catalog { return defaultCatalog }

// Lookup finds a model's price by longest prefix of its id, ignoring a
// "provider/" prefix and Bedrock's region prefixes.
func (c *Catalog) Lookup(model string) (Price, bool) {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	for _, region := range []string{"us.", "eu.", "apac.", "global."} {
		m = strings.TrimPrefix(m, region)
	}
	if p, ok := c.Models[m]; ok {
		return p, true
	}
	for _, k := range c.keys {
		if strings.HasPrefix(m, k) && (len(m) == len(k) || m[len(k)] == '-' || m[len(k)] == '.' || m[len(k)] == ':' || m[len(k)] == '@') {
			return c.Models[k], true
		}
	}
	return Price{}, false
}

// Cost is what usage costs at a price, in USD. Input counts cached reads
// and cache writes, which are priced on their own when the price says so.
func (p Price) Cost(u provider.Usage) float64 {
	plain := u.Input - u.CacheRead - u.CacheWrite
	if plain < 0 {
		plain = 0
	}
	cached, write := p.CachedInput, p.CacheWrite
	if cached == 0 {
		cached = p.Input
	}
	if write == 0 {
		write = p.Input
	}
	return (float64(plain)*p.Input+float64(u.CacheRead)*cached+float64(u.CacheWrite)*write+float64(u.Output)*p.Output)/1e6 + p.PerRequest
}
