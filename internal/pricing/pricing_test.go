package pricing

import (
	"math"
	"testing"

	"github.com/switchboard-gw/switchboard/internal/provider"
)

func TestLookup(t *testing.T) {
	c := Default()
	for model, want := range map[string]float64{
		"gpt-4o":                                      2.50,
		"gpt-4o-mini-2024-07-18":                      0.15,
		"openai/gpt-4o-mini":                          0.15,
		"claude-sonnet-4-5-20250929":                  3.00,
		"us.anthropic.claude-3-5-haiku-20241022-v1:0": 0.80,
		"gemini-2.5-flash-lite":                       0.10,
		"gemini-2.5-flash-preview-05-20":              0.30,
		"o3-mini":                                     1.10,
		"o3":                                          2.00,
		"text-embedding-3-small":                      0.02,
	} {
		p, ok := c.Lookup(model)
		if !ok || p.Input != want {
			t.Errorf("%s: %+v %v, want input %v", model, p, ok, want)
		}
	}
	for _, model := range []string{"mock-gpt", "my-custom-model", "gpt-4oops", "o"} {
		if p, ok := c.Lookup(model); ok {
			t.Errorf("%s matched %+v", model, p)
		}
	}
}

func TestCost(t *testing.T) {
	p := Price{Input: 3, Output: 15, CachedInput: 0.3, CacheWrite: 3.75}
	got := p.Cost(provider.Usage{Input: 1_000_000, CacheRead: 200_000, CacheWrite: 100_000, Output: 10_000})
	want := 0.7*3 + 0.2*0.3 + 0.1*3.75 + 0.01*15
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("cost = %v, want %v", got, want)
	}
}
