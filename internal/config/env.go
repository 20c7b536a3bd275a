package config

import "sort"

// EnvSpec tells env discovery how a provider type is configured from the
// environment. Provider packages declare their own; config only reads them.
type EnvSpec struct {
	Type       string
	KeyVar     string // e.g. OPENAI_API_KEY; empty for keyless local servers
	BaseURLVar string // e.g. OPENAI_BASE_URL; a keyless provider is enabled only when this is set
	// APIVersionVar names the variable holding the API version (azure).
	APIVersionVar string
	// BaseURLRequired means the provider is enabled only when both key and
	// base URL are set (azure: the resource endpoint).
	BaseURLRequired bool
	// Detect, if set, replaces the rules above for providers configured by
	// several variables (bedrock: AWS keys and region). It returns nil when
	// the environment does not configure the provider.
	Detect func(getenv func(string) string) *Provider
}

// FromEnv builds a config with no file: one provider per type whose
// credentials are in the environment, and a pattern model "TYPE/*" for each,
// so "openai/gpt-4o-mini" reaches OpenAI's gpt-4o-mini.
func FromEnv(getenv func(string) string, specs []EnvSpec) (*Config, error) {
	cfg := &Config{
		Source:        "environment",
		Listen:        getenv("SWITCHBOARD_LISTEN"),
		MasterKey:     getenv("SWITCHBOARD_MASTER_KEY"),
		SecretKey:     getenv("SWITCHBOARD_SECRET_KEY"),
		EncryptionKey: getenv("SWITCHBOARD_ENCRYPTION_KEY"),
		Database:      getenv("SWITCHBOARD_DATABASE"),
		Redis:         getenv("SWITCHBOARD_REDIS"),
	}
	sorted := append([]EnvSpec(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Type < sorted[j].Type })
	for _, s := range sorted {
		if s.Detect != nil {
			if p := s.Detect(getenv); p != nil {
				p.Name, p.Type = s.Type, s.Type
				cfg.Providers = append(cfg.Providers, *p)
				cfg.Models = append(cfg.Models, Model{Name: s.Type + "/*", Deployments: []Deployment{{Provider: s.Type, Model: "*"}}})
			}
			continue
		}
		key, base := "", ""
		if s.KeyVar != "" {
			key = getenv(s.KeyVar)
		}
		if s.BaseURLVar != "" {
			base = getenv(s.BaseURLVar)
		}
		switch {
		case s.KeyVar == "" && base == "":
			continue
		case s.KeyVar != "" && key == "":
			continue
		case s.BaseURLRequired && base == "":
			continue
		}
		p := Provider{Name: s.Type, Type: s.Type, APIKey: key, BaseURL: base}
		if s.APIVersionVar != "" {
			p.APIVersion = getenv(s.APIVersionVar)
		}
		cfg.Providers = append(cfg.Providers, p)
		cfg.Models = append(cfg.Models, Model{
			Name:        s.Type + "/*",
			Deployments: []Deployment{{Provider: s.Type, Model: "*"}},
		})
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}
