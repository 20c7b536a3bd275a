package reqlog

import (
	"regexp"

	"github.com/switchboard-gw/switchboard/internal/config"
)

// Redactor removes what must not be stored from captured payloads:
// emails, card numbers, API keys and bearer tokens, plus the operator's
// own rules. It runs on the writer goroutine, never on a request's.
type Redactor struct {
	rules []redaction
}

type redaction struct {
	re      *regexp.Regexp
	replace string
}

// builtin are always applied, before the configured rules.
var builtin = []redaction{
	{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`), "[REDACTED:email]"},
	// 13 to 19 digits, optionally grouped by spaces or dashes.
	{regexp.MustCompile(`\b\d(?:[ -]?\d){12,18}\b`), "[REDACTED:card]"},
	// Provider and Switchboard keys (sk-…, sk-ant-…, sk-sb-…, pk-…),
	// AWS access key ids, Google API keys, bearer tokens.
	{regexp.MustCompile(`\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}`), "[REDACTED:key]"},
	{regexp.MustCompile(`\b(?:AKIA|ASIA)[0-9A-Z]{16}\b`), "[REDACTED:key]"},
	{regexp.MustCompile(`\bAIza[0-9A-Za-z_-]{35}\b`), "[REDACTED:key]"},
	{regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{16,}`), "Bearer [REDACTED:key]"},
}

// NewRedactor compiles the configured rules (validated with the config).
func NewRedactor(rules []config.RedactRule) (*Redactor, error) {
	r := &Redactor{rules: append([]redaction(nil), builtin...)}
	for _, c := range rules {
		re, err := regexp.Compile(c.Pattern)
		if err != nil {
			return nil, err
		}
		replace := c.Replace
		if replace == "" {
			replace = "[REDACTED]"
		}
		r.rules = append(r.rules, redaction{re, replace})
	}
	return r, nil
}

// Apply returns b with every rule applied, as a string for storage.
func (r *Redactor) Apply(b []byte) string {
	for _, rule := range r.rules {
		b = rule.re.ReplaceAllLiteral(b, []byte(rule.replace))
	}
	return string(b)
}

// OptionsFor are the writer options the configuration asks for: its
// spill file and redaction rules.
func OptionsFor(cfg *config.Config) (Options, error) {
	r, err := NewRedactor(cfg.Log.Payloads.Redact)
	if err != nil {
		return Options{}, err
	}
	return Options{Spill: cfg.SpillPath(), Redact: r}, nil
}
