package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads, expands, decodes, defaults and validates a config file.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, getenv)
}

// Parse is Load for bytes already read; name is used in messages.
func Parse(name string, data []byte, getenv func(string) string) (*Config, error) {
	var errs problems
	errs.src = name

	// Unknown keys are found on the text as written, so their line numbers
	// are the ones the user sees in the file.
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	var probe Config
	if err := strict.Decode(&probe); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, &Error{Problems: []string{fmt.Sprintf("%s: %s", name, cleanYAMLError(err.Error()))}}
		}
		for _, msg := range te.Errors {
			if strings.Contains(msg, "not found in type") {
				errs.list = append(errs.list, fmt.Sprintf("%s: %s", name, cleanYAMLError(msg)))
			}
		}
	}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Problems: []string{fmt.Sprintf("%s: %s", name, cleanYAMLError(err.Error()))}}
	}
	if err := expandNode(&doc, getenv); err != nil {
		errs.list = append(errs.list, fmt.Sprintf("%s: %v", name, err))
	}
	cfg := &Config{}
	if len(doc.Content) > 0 {
		if err := doc.Decode(cfg); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				for _, msg := range te.Errors {
					if !strings.Contains(msg, "not found in type") {
						errs.list = append(errs.list, fmt.Sprintf("%s: %s", name, cleanYAMLError(msg)))
					}
				}
			} else {
				errs.list = append(errs.list, fmt.Sprintf("%s: %s", name, cleanYAMLError(err.Error())))
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	cfg.Source = name
	if v := getenv("SWITCHBOARD_LISTEN"); v != "" {
		cfg.Listen = v
	}
	if cfg.MasterKey == "" {
		cfg.MasterKey = getenv("SWITCHBOARD_MASTER_KEY")
	}
	if cfg.SecretKey == "" {
		cfg.SecretKey = getenv("SWITCHBOARD_SECRET_KEY")
	}
	if cfg.EncryptionKey == "" {
		cfg.EncryptionKey = getenv("SWITCHBOARD_ENCRYPTION_KEY")
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

var (
	notFoundRe  = regexp.MustCompile(`field (\S+) not found in type config\.(\w+)`)
	unmarshalRe = regexp.MustCompile("cannot unmarshal !!(\\w+) `([^`]*)` into (\\S+)")
)

// cleanYAMLError turns yaml.v3's Go-flavoured messages into ones that speak
// of keys and values.
func cleanYAMLError(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = notFoundRe.ReplaceAllString(msg, `unknown key "$1" (in $2)`)
	msg = unmarshalRe.ReplaceAllStringFunc(msg, func(s string) string {
		m := unmarshalRe.FindStringSubmatch(s)
		want := m[3]
		switch {
		case strings.HasPrefix(want, "int"):
			want = "a whole number"
		case strings.HasPrefix(want, "float"):
			want = "a number"
		case want == "bool":
			want = "true or false"
		case want == "string":
			want = "a string"
		case strings.HasPrefix(want, "[]"):
			want = "a list"
		case strings.HasPrefix(want, "config."):
			want = "a mapping (" + strings.TrimPrefix(want, "config.") + ")"
		}
		return fmt.Sprintf("value %q is not %s", m[2], want)
	})
	return msg
}

// expandNode replaces ${VAR} and ${VAR:-default} in every scalar value.
func expandNode(n *yaml.Node, getenv func(string) string) error {
	var errs []string
	var walk func(*yaml.Node, bool)
	walk = func(n *yaml.Node, isKey bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if isKey || !strings.Contains(n.Value, "$") {
				return
			}
			v, err := Expand(n.Value, getenv)
			if err != nil {
				errs = append(errs, fmt.Sprintf("line %d: %v", n.Line, err))
				return
			}
			n.Value = v
			if n.Style == 0 {
				n.Tag = "" // let the expanded text resolve to int, bool, ...
			}
		case yaml.MappingNode:
			for i, c := range n.Content {
				walk(c, i%2 == 0)
			}
		default:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	walk(n, false)
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// Expand substitutes ${VAR} and ${VAR:-default}; "$$" is a literal "$".
// An unset variable without a default expands to the empty string.
func Expand(s string, getenv func(string) string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if i+1 >= len(s) || s[i+1] != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		expr := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("invalid variable name %q in %q", name, s)
		}
		v := getenv(name)
		if v == "" && hasDef {
			v = def
		}
		b.WriteString(v)
		i += end
	}
	return b.String(), nil
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}
