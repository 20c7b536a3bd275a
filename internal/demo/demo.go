// Package demo configures `switchboard serve --demo`: simulated providers
// in process and a few models, so a first request needs no keys or files.
package demo

import (
	"github.com/switchboard-gw/switchboard/internal/config"
)

// Models are the demo's model names, for the startup banner and docs.
var Models = []string{"demo-gpt", "demo-claude", "demo-balanced", "demo-embed"}

// Config returns the demo configuration for a mock upstream at mockURL.
func Config(listen, mockURL string) *config.Config {
	cfg := &config.Config{
		Source: "demo",
		Demo:   true,
		Listen: listen,
		Providers: []config.Provider{
			{Name: "demo-openai", Type: "openai", BaseURL: mockURL + "/v1", APIKey: "demo"},
			{Name: "demo-anthropic", Type: "anthropic", BaseURL: mockURL, APIKey: "demo"},
			{Name: "demo-azure", Type: "azure", BaseURL: mockURL, APIKey: "demo"},
		},
		Models: []config.Model{
			// OpenAI format end to end: the fast path.
			{Name: "demo-gpt", Deployments: []config.Deployment{{Provider: "demo-openai", Model: "mock-gpt"}}},
			// Anthropic behind an OpenAI client: full translation, tools included.
			{Name: "demo-claude", Deployments: []config.Deployment{{Provider: "demo-anthropic", Model: "mock-claude"}}},
			// Two providers sharing the load by weight.
			{Name: "demo-balanced", Deployments: []config.Deployment{
				{Provider: "demo-openai", Model: "mock-gpt", Weight: 3},
				{Provider: "demo-azure", Model: "mock-azure-gpt", Weight: 1},
			}},
			{Name: "demo-embed", Deployments: []config.Deployment{{Provider: "demo-openai", Model: "mock-embedding"}}},
		},
	}
	cfg.ApplyDefaults()
	return cfg
}
