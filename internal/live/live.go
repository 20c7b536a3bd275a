// Package live applies providers and model groups defined at run time:
// it merges them with the config file's, opens the credentials they name,
// builds a new gateway and swaps it in — or, if the result is invalid,
// changes nothing. Replicas poll the database to pick up each other's
// changes, credential rotations included.
package live

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/secret"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// Swapper takes a new gateway (the server).
type Swapper interface{ SetGateway(*gateway.Gateway) }

// Defs are the stored definitions by name, as JSON in the config file's
// shape.
type Defs struct {
	Providers map[string][]byte
	Models    map[string][]byte
	// Pending overrides stored credentials while a change is checked: the
	// new value, or nil for one about to be deleted.
	Pending map[string]*string
}

// Clone copies the maps so a change can be tried on the copy.
func (d Defs) Clone() Defs {
	return Defs{Providers: maps.Clone(d.Providers), Models: maps.Clone(d.Models), Pending: maps.Clone(d.Pending)}
}

// Runtime keeps the serving gateway in step with the stored definitions.
type Runtime struct {
	base    *config.Config
	st      *store.Store
	ring    *secret.Keyring
	log     *slog.Logger
	mu      sync.Mutex
	target  Swapper
	version string
}

// New starts from the file's configuration, whose credential references
// are opened with ring on every build.
func New(base *config.Config, st *store.Store, ring *secret.Keyring, log *slog.Logger) *Runtime {
	return &Runtime{base: base, st: st, ring: ring, log: log}
}

// Build merges the definitions into the file's, opens the credentials
// and builds a gateway, without serving it: the starting gateway, or a
// check of a change.
func (m *Runtime) Build(ctx context.Context, defs Defs) (*gateway.Gateway, error) {
	cfg, err := m.base.WithRuntime(defs.Providers, defs.Models)
	if err != nil {
		return nil, err
	}
	sealed := func(ctx context.Context, name string) (string, error) {
		if v, ok := defs.Pending[name]; ok {
			if v == nil {
				return "", store.ErrNotFound
			}
			return m.ring.Seal(*v, name), nil
		}
		return m.st.CredentialSealed(ctx, name)
	}
	if err := secret.ResolveProviders(ctx, cfg, m.ring, sealed); err != nil {
		return nil, err
	}
	return gateway.New(cfg)
}

// FileProviders are the config file's providers, as written (credential
// references unopened).
func (m *Runtime) FileProviders() []config.Provider { return m.base.Providers }

// Stored reads the definitions in the database and their version.
func (m *Runtime) Stored(ctx context.Context) (Defs, string, error) {
	version, err := m.st.RuntimeVersion(ctx)
	if err != nil {
		return Defs{}, "", err
	}
	providers, err := m.st.Providers(ctx)
	if err != nil {
		return Defs{}, "", err
	}
	groups, err := m.st.ModelGroups(ctx)
	if err != nil {
		return Defs{}, "", err
	}
	return Defs{Providers: byName(providers), Models: byName(groups)}, version, nil
}

func byName(defs []store.Definition) map[string][]byte {
	out := make(map[string][]byte, len(defs))
	for _, d := range defs {
		out[d.Name] = []byte(d.Definition)
	}
	return out
}

// Initial builds the starting gateway from the file and the database.
func (m *Runtime) Initial(ctx context.Context) (*gateway.Gateway, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rebuild(ctx)
}

// rebuild builds from the stored definitions and records their version;
// the caller holds mu.
func (m *Runtime) rebuild(ctx context.Context) (*gateway.Gateway, error) {
	defs, version, err := m.Stored(ctx)
	if err != nil {
		return nil, err
	}
	gw, err := m.Build(ctx, defs)
	if err != nil {
		return nil, err
	}
	m.version = version
	return gw, nil
}

// Serve makes target receive every rebuilt gateway.
func (m *Runtime) Serve(target Swapper) {
	m.mu.Lock()
	m.target = target
	m.mu.Unlock()
}

// Reload rebuilds from the database and swaps the result in. A stored
// state that does not build (a provider removed from the file, say) is
// logged and the running gateway kept.
func (m *Runtime) Reload(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gw, err := m.rebuild(ctx)
	if err != nil {
		m.log.Error("run-time configuration: could not rebuild from the database; keeping the running one", "error", err.Error())
		return err
	}
	if m.target != nil {
		m.target.SetGateway(gw)
	}
	return nil
}

// Watch reloads whenever another replica changes a definition or a
// credential.
func (m *Runtime) Watch(ctx context.Context, every time.Duration) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		version, err := m.st.RuntimeVersion(ctx)
		m.mu.Lock()
		changed := err == nil && version != m.version
		m.mu.Unlock()
		if changed {
			if err := m.Reload(ctx); err == nil {
				m.log.Info("run-time configuration reloaded", "version", version)
			}
		}
	}
}
