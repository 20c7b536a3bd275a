package gateway

import (
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/route"
)

// New builds the gateway for a config: providers on a shared HTTP client,
// the routing table and the retry budget.
func New(cfg *config.Config) (*Gateway, error) {
	return NewWithClient(cfg, provider.NewHTTPClient(cfg.ConnectTimeout.D()))
}

// NewWithClient is New with the providers' HTTP client given (benchmarks
// use one that answers from memory).
func NewWithClient(cfg *config.Config, hc *http.Client) (*Gateway, error) {
	providers, err := provider.Build(cfg, hc)
	if err != nil {
		return nil, err
	}
	router, err := NewRouter(cfg, providers)
	if err != nil {
		return nil, err
	}
	return &Gateway{Router: router, Budget: route.NewRetryBudget(cfg.RetryBudget.Ratio, cfg.RetryBudget.MinRetry)}, nil
}
