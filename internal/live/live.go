// Package live applies model groups defined at run time: it merges them
// with the config file's, builds a new gateway and swaps it in — or, if
// the result is invalid, changes nothing. Replicas poll the database to
// pick up each other's changes.
package live

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Swapper takes a new gateway (the server).
type Swapper interface{ SetGateway(*gateway.Gateway) }

// Models keeps the serving gateway in step with the stored groups.
type Models struct {
	base    *config.Config
	st      *store.Store
	log     *slog.Logger
	mu      sync.Mutex
	target  Swapper
	version string
}

// New starts from the file's configuration.
func New(base *config.Config, st *store.Store, log *slog.Logger) *Models {
	return &Models{base: base, st: st, log: log}
}

// Build merges stored groups into the file's and builds a gateway, without
// serving it: the starting gateway, or a check of a change.
func (m *Models) Build(defs map[string][]byte) (*gateway.Gateway, error) {
	cfg, err := m.base.WithModels(defs)
	if err != nil {
		return nil, err
	}
	return gateway.New(cfg)
}

// Stored reads the groups in the database.
func (m *Models) Stored(ctx context.Context) (map[string][]byte, string, error) {
	version, err := m.st.ModelGroupsVersion(ctx)
	if err != nil {
		return nil, "", err
	}
	groups, err := m.st.ModelGroups(ctx)
	if err != nil {
		return nil, "", err
	}
	defs := make(map[string][]byte, len(groups))
	for _, g := range groups {
		defs[g.Name] = []byte(g.Definition)
	}
	return defs, version, nil
}

// Initial builds the starting gateway from the file and the database.
func (m *Models) Initial(ctx context.Context) (*gateway.Gateway, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rebuild(ctx)
}

// rebuild builds from the stored groups and records their version; the
// caller holds mu.
func (m *Models) rebuild(ctx context.Context) (*gateway.Gateway, error) {
	defs, version, err := m.Stored(ctx)
	if err != nil {
		return nil, err
	}
	gw, err := m.Build(defs)
	if err != nil {
		return nil, err
	}
	m.version = version
	return gw, nil
}

// Serve makes target receive every rebuilt gateway.
func (m *Models) Serve(target Swapper) {
	m.mu.Lock()
	m.target = target
	m.mu.Unlock()
}

// Reload rebuilds from the database and swaps the result in. A stored
// state that does not build (a provider removed from the file, say) is
// logged and the running gateway kept.
func (m *Models) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gw, err := m.rebuild(ctx)
	if err != nil {
		m.log.Error("model groups: could not rebuild from the database; keeping the running ones", "error", err.Error())
		return err
	}
	if m.target != nil {
		m.target.SetGateway(gw)
	}
	return nil
}

// Watch reloads whenever another replica changes the groups.
func (m *Models) Watch(ctx context.Context, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		version, err := m.st.ModelGroupsVersion(ctx)
		m.mu.Lock()
		changed := err == nil && version != m.version
		m.mu.Unlock()
		if changed {
			if err := m.Reload(ctx); err == nil {
				m.log.Info("model groups reloaded", "version", version)
			}
		}
	}
}
