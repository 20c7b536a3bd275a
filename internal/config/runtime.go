package config

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// ParseModel reads one model group definition (JSON or YAML in the
// config file's shape), strictly: unknown fields are errors.
func ParseModel(def []byte) (Model, error) {
	var m Model
	return m, parseStrict(def, &m, "model")
}

// ParseProvider reads one provider definition (JSON or YAML in the config
// file's shape), strictly. Values are taken as they are: `${VAR}` is not
// expanded at run time; secrets belong in stored credentials.
func ParseProvider(def []byte) (Provider, error) {
	var p Provider
	return p, parseStrict(def, &p, "provider")
}

func parseStrict(def []byte, into any, what string) error {
	dec := yaml.NewDecoder(bytes.NewReader(def))
	dec.KnownFields(true)
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s: %s", what, cleanYAMLError(err.Error()))
	}
	return nil
}

// WithRuntime returns a copy of the configuration with run-time providers
// and model groups added after the file's, defaulted and validated as a
// whole: an invalid result is an error and the receiver is unchanged. A
// run-time definition may not reuse a name from the file, which wins.
func (c *Config) WithRuntime(providers, models map[string][]byte) (*Config, error) {
	out := *c
	out.Providers = append([]Provider(nil), c.Providers...)
	out.Models = append([]Model(nil), c.Models...)
	out.runtimeFrom = map[string]int{"providers": len(c.Providers), "models": len(c.Models)}
	fileProviders := map[string]bool{}
	for _, p := range c.Providers {
		fileProviders[p.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(providers)) {
		p, err := ParseProvider(providers[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if p.Name == "" {
			p.Name = name
		}
		if err := runtimeName(name, p.Name, fileProviders[name]); err != nil {
			return nil, err
		}
		out.Providers = append(out.Providers, p)
	}
	fileModels := map[string]bool{}
	for _, m := range c.Models {
		fileModels[m.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(models)) {
		m, err := ParseModel(models[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m.Name == "" {
			m.Name = name
		}
		if err := runtimeName(name, m.Name, fileModels[name]); err != nil {
			return nil, err
		}
		out.Models = append(out.Models, m)
	}
	out.ApplyDefaults()
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}

func runtimeName(key, named string, inFile bool) error {
	if named != key {
		return fmt.Errorf("%s: the definition names another one (%q)", key, named)
	}
	if inFile {
		return fmt.Errorf("%s: defined in the config file, which wins; choose another name", key)
	}
	return nil
}
