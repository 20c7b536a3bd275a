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
	dec := yaml.NewDecoder(bytes.NewReader(def))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("model: %s", cleanYAMLError(err.Error()))
	}
	return m, nil
}

// WithModels returns a copy of the configuration with run-time model
// groups added after the file's, defaulted and validated as a whole: an
// invalid result is an error and the receiver is unchanged. A run-time
// group may not reuse a file group's name.
func (c *Config) WithModels(defs map[string][]byte) (*Config, error) {
	out := *c
	out.Models = append([]Model(nil), c.Models...)
	fileModels := map[string]bool{}
	for _, m := range c.Models {
		fileModels[m.Name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		m, err := ParseModel(defs[name])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if m.Name == "" {
			m.Name = name
		}
		if m.Name != name {
			return nil, fmt.Errorf("%s: the definition names another model (%q)", name, m.Name)
		}
		if fileModels[name] {
			return nil, fmt.Errorf("%s: defined in the config file, which wins; choose another name", name)
		}
		out.Models = append(out.Models, m)
	}
	out.ApplyDefaults()
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return &out, nil
}
