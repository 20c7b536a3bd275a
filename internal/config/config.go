// Package config loads Switchboard's YAML configuration, expands environment
// variables in it, decodes it strictly and validates it. A config that fails
// any check is refused whole: nothing starts half-configured.
package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Defaults applied when the config leaves a value unset.
const (
	DefaultListen        = "127.0.0.1:8080"
	DefaultMaxBodyBytes  = 10 << 20
	DefaultShutdownGrace = 30 * time.Second
	DefaultLogRetention  = 30 * 24 * time.Hour
	DefaultModelTimeout  = 10 * time.Minute
	DefaultDatabase      = "sqlite://./data/switchboard.db"
)

// Config is the whole configuration file.
type Config struct {
	Listen    string `yaml:"listen"`
	MasterKey string `yaml:"master_key"`
	// SecretKey keys the hashes of virtual keys (and, later, encryption
	// of stored credentials). Without it one is derived from master_key,
	// so changing master_key then invalidates every virtual key.
	SecretKey string `yaml:"secret_key"`
	// EncryptionKey seals stored provider credentials (AES-256-GCM):
	// base64 of 32 bytes, or any string (hashed). Without it one is
	// derived from secret_key (or master_key). PreviousEncryptionKeys
	// still open values sealed before a rotation.
	EncryptionKey          string     `yaml:"encryption_key"`
	PreviousEncryptionKeys []string   `yaml:"previous_encryption_keys"`
	Database               string     `yaml:"database"`
	Redis                  string     `yaml:"redis"`
	MaxBodyBytes           int64      `yaml:"max_body_bytes"`
	ShutdownGrace          Duration   `yaml:"shutdown_grace"`
	Log                    Log        `yaml:"log"`
	Providers              []Provider `yaml:"providers"`
	Models                 []Model    `yaml:"models"`
	Cache                  Cache      `yaml:"cache"`
	Tracing                Tracing    `yaml:"tracing"`
	// ConnectTimeout bounds dialing an upstream (default 10s).
	ConnectTimeout Duration       `yaml:"connect_timeout"`
	CircuitBreaker CircuitBreaker `yaml:"circuit_breaker"`
	Budgets        Budgets        `yaml:"budgets"`
	RetryBudget    RetryBudget    `yaml:"retry_budget"`

	// Source names where the config came from (a file path, "env" or
	// "demo"); it prefixes validation messages.
	Source string `yaml:"-"`
	// Demo marks the in-process demo: auth off, loopback only.
	Demo bool `yaml:"-"`
	// runtimeFrom gives, per list ("providers", "models"), the index
	// where entries defined through the admin API start.
	runtimeFrom map[string]int
}

// Log configures the process's structured log.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Access bool   `yaml:"access"` // one line per request
	// Requests turns the request log off when false (default on): no
	// rows and no usage rollups, for deployments that only want metrics.
	Requests *bool `yaml:"requests"`
	// Retention is how long request log rows are kept (default 30 days);
	// the daily usage rollups are kept for good.
	Retention Duration `yaml:"retention"`
	// Spill is the local file that keeps request-log entries the
	// database cannot take in time, until it can; "off" disables it
	// (default: request-log.spill beside a SQLite database, or in ./data).
	Spill string `yaml:"spill"`
	// Payloads configures prompt and completion capture.
	Payloads Payloads `yaml:"payloads"`
}

// RequestLog reports whether requests are written to the request log.
func (l Log) RequestLog() bool { return l.Requests == nil || *l.Requests }

// Payloads configures capture of prompts and completions in the request
// log: off unless enabled here (for everything) or on a model group, key
// or team; always redacted and capped before storage.
type Payloads struct {
	Enabled bool `yaml:"enabled"`
	// MaxBytes caps each stored body (default 32 KiB).
	MaxBytes int `yaml:"max_bytes"`
	// Redact adds rules to the built-in ones (emails, card numbers, API
	// keys and bearer tokens).
	Redact []RedactRule `yaml:"redact"`
}

// RedactRule replaces every match of a regular expression.
type RedactRule struct {
	Pattern string `yaml:"pattern"`
	Replace string `yaml:"replace"` // default "[REDACTED]"
}

// SpillPath is where the request log spills, or "" for nowhere.
func (c *Config) SpillPath() string {
	switch {
	case c.Log.Spill == "off" || c.Demo:
		return ""
	case c.Log.Spill != "":
		return c.Log.Spill
	}
	if db, ok := strings.CutPrefix(c.Database, "sqlite://"); ok && db != ":memory:" && !strings.HasPrefix(db, "file::memory:") {
		return filepath.Join(filepath.Dir(db), "request-log.spill")
	}
	return filepath.Join("data", "request-log.spill")
}

// Provider is one upstream account: a type, where it lives and its credential.
type Provider struct {
	Name    string            `yaml:"name"`
	Type    string            `yaml:"type"`
	BaseURL string            `yaml:"base_url"`
	APIKey  string            `yaml:"api_key"`
	Headers map[string]string `yaml:"headers"`
	Timeout Duration          `yaml:"timeout"`

	// azure
	APIVersion string `yaml:"api_version"`
	// bedrock
	Region          string `yaml:"region"`
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	// vertex
	Project         string `yaml:"project"`
	Location        string `yaml:"location"`
	CredentialsFile string `yaml:"credentials_file"`
}

// CircuitBreaker tunes every deployment's breaker.
type CircuitBreaker struct {
	Failures int      `yaml:"failures"` // in a row to open (default 5)
	Cooldown Duration `yaml:"cooldown"` // before probing again (default 30s)
	Probes   int      `yaml:"probes"`   // at once while half-open (default 1)
}

// Budgets configures budget enforcement.
type Budgets struct {
	// Unpriced says what a key with a budget may do with a model that has
	// no price: "block" (default) or "allow" (its cost is not counted).
	Unpriced string `yaml:"unpriced"`
	// AlertAt is the share of a budget whose spending logs a warning
	// (once per budget and period on each replica); default 0.8.
	AlertAt float64 `yaml:"alert_at"`
}

// RetryBudget caps retries over a sliding 10s window.
type RetryBudget struct {
	Ratio    float64 `yaml:"ratio"`       // extra attempts per request (default 0.2)
	MinRetry int64   `yaml:"min_per_10s"` // always allowed (default 10)
}

// Model is a name clients send and the deployments that can serve it.
// A name ending in "/*" is a pattern: "openai/*" serves "openai/gpt-4o" with
// the upstream model "gpt-4o" on each deployment whose model is "*".
type Model struct {
	Name        string       `yaml:"name"`
	Strategy    string       `yaml:"strategy"`
	Deployments []Deployment `yaml:"deployments"`
	Fallbacks   []string     `yaml:"fallbacks"`
	// ContextWindowFallbacks serve requests too long for this model;
	// ContextWindow (tokens), if set, lets Switchboard tell before sending.
	ContextWindowFallbacks []string `yaml:"context_window_fallbacks"`
	ContextWindow          int64    `yaml:"context_window"`
	// ContentPolicyFallbacks serve requests this model's provider refused
	// on content policy.
	ContentPolicyFallbacks []string `yaml:"content_policy_fallbacks"`
	Retry                  Retry    `yaml:"retry"`
	Timeout                Duration `yaml:"timeout"`
	// FirstTokenTimeout abandons a stream that has sent nothing for this
	// long (and tries elsewhere); IdleTimeout ends one that stalls between
	// chunks.
	FirstTokenTimeout Duration    `yaml:"first_token_timeout"`
	IdleTimeout       Duration    `yaml:"idle_timeout"`
	Cache             *ModelCache `yaml:"cache"`
	// DropParams lets requests through with parameters the provider cannot
	// honour; they are dropped (and logged) instead of refused with a 400.
	DropParams bool `yaml:"drop_params"`
	// LogPayloads stores this group's prompts and completions in the
	// request log (redacted and capped as log.payloads says).
	LogPayloads bool `yaml:"log_payloads"`
}

// Deployment is one provider + upstream model that can serve a model group.
type Deployment struct {
	Provider string `yaml:"provider"`
	Model    string `yaml:"model"`
	Weight   int    `yaml:"weight"`
	Priority int    `yaml:"priority"`
	RPM      int    `yaml:"rpm"`
	TPM      int    `yaml:"tpm"`
	Price    *Price `yaml:"price"`
}

// Price overrides list prices, in USD per million tokens.
type Price struct {
	InputPerMTok       float64 `yaml:"input_per_mtok"`
	OutputPerMTok      float64 `yaml:"output_per_mtok"`
	CachedInputPerMTok float64 `yaml:"cached_input_per_mtok"`
	CacheWritePerMTok  float64 `yaml:"cache_write_per_mtok"`
	PerRequest         float64 `yaml:"per_request"`
}

// Retry configures per-model retries: Attempts beyond trying each
// deployment once, with exponential backoff and full jitter.
type Retry struct {
	Attempts   int      `yaml:"attempts"`
	Backoff    Duration `yaml:"backoff"`     // base (default 200ms)
	MaxBackoff Duration `yaml:"max_backoff"` // cap (default 10s)
}

// ModelCache overrides the global cache block for one model.
type ModelCache struct {
	Enabled  bool     `yaml:"enabled"`
	TTL      Duration `yaml:"ttl"`
	Semantic bool     `yaml:"semantic"`
	// NonDeterministic and MaxEntryBytes override the global ones when set.
	NonDeterministic *bool `yaml:"non_deterministic"`
	MaxEntryBytes    int   `yaml:"max_entry_bytes"`
}

// Cache is the global response-cache block.
type Cache struct {
	Enabled bool     `yaml:"enabled"`
	TTL     Duration `yaml:"ttl"` // default 1h
	// Scope is who shares entries: key (default), team, org or global.
	Scope string `yaml:"scope"`
	// NonDeterministic also caches requests that do not ask for
	// temperature 0 (off: their answers are meant to vary).
	NonDeterministic bool `yaml:"non_deterministic"`
	// MaxEntryBytes is the largest answer stored (default 1 MiB);
	// MaxBytes bounds the in-process cache (default 256 MiB).
	MaxEntryBytes int   `yaml:"max_entry_bytes"`
	MaxBytes      int64 `yaml:"max_bytes"`
	// HitsCountAgainstLimits makes hits count against rate limits (not
	// budgets); default true.
	HitsCountAgainstLimits *bool         `yaml:"hits_count_against_limits"`
	Semantic               SemanticCache `yaml:"semantic"`
}

// SemanticCache configures similarity lookups.
type SemanticCache struct {
	Enabled        bool    `yaml:"enabled"`
	Threshold      float64 `yaml:"threshold"`       // cosine similarity for a hit (default 0.95)
	EmbeddingModel string  `yaml:"embedding_model"` // a model group serving embeddings
	// MaxTurns is the most user turns a request may hold to be looked up
	// by meaning (default 1: single questions only). Only the last user
	// turn is compared; everything else must match exactly.
	MaxTurns int `yaml:"max_turns"`
}

// SemanticOn reports whether any model group uses the semantic cache.
func (c *Config) SemanticOn() bool {
	if c.Cache.Semantic.Enabled {
		return true
	}
	for _, m := range c.Models {
		if m.Cache != nil && m.Cache.Enabled && m.Cache.Semantic {
			return true
		}
	}
	return false
}

// Tracing configures OpenTelemetry export over OTLP/HTTP. Without an
// endpoint here or in OTEL_EXPORTER_OTLP_ENDPOINT, tracing is off.
type Tracing struct {
	// Endpoint is the OTLP/HTTP base URL; /v1/traces is appended.
	Endpoint string `yaml:"endpoint"`
	// Headers are sent with every export (auth for hosted backends).
	Headers map[string]string `yaml:"headers"`
	// SampleRate is the share of new traces kept (default 1); a client's
	// sampled traceparent is always followed.
	SampleRate *float64 `yaml:"sample_rate"`
	// ServiceName names the gateway in traces (default "switchboard").
	ServiceName string `yaml:"service_name"`
}

// Duration is a time.Duration written as "60s", "10m" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string, naming the line on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q (use e.g. 30s, 5m)", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q must not be negative", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ApplyDefaults fills unset values.
func (c *Config) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Cache.Semantic.Threshold == 0 {
		c.Cache.Semantic.Threshold = 0.95
	}
	if c.Cache.Semantic.MaxTurns == 0 {
		c.Cache.Semantic.MaxTurns = 1
	}
	if c.Cache.TTL == 0 {
		c.Cache.TTL = Duration(time.Hour)
	}
	if c.Cache.Scope == "" {
		c.Cache.Scope = "key"
	}
	if c.Cache.MaxEntryBytes == 0 {
		c.Cache.MaxEntryBytes = 1 << 20
	}
	if c.Cache.MaxBytes == 0 {
		c.Cache.MaxBytes = 256 << 20
	}
	if c.Log.Payloads.MaxBytes == 0 {
		c.Log.Payloads.MaxBytes = 32 << 10
	}
	if c.Log.Retention == 0 {
		c.Log.Retention = Duration(DefaultLogRetention)
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = Duration(DefaultShutdownGrace)
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = Duration(10 * time.Second)
	}
	if c.Budgets.AlertAt == 0 {
		c.Budgets.AlertAt = 0.8
	}
	if c.Budgets.Unpriced == "" {
		c.Budgets.Unpriced = "block"
	}
	if c.RetryBudget.Ratio == 0 {
		c.RetryBudget.Ratio = 0.2
	}
	if c.RetryBudget.MinRetry == 0 {
		c.RetryBudget.MinRetry = 10
	}
	for i := range c.Models {
		m := &c.Models[i]
		if m.Strategy == "" {
			m.Strategy = "weighted"
		}
		if m.Timeout == 0 {
			m.Timeout = Duration(DefaultModelTimeout)
		}
		if m.Retry.Backoff == 0 {
			m.Retry.Backoff = Duration(200 * time.Millisecond)
		}
		if m.Retry.MaxBackoff == 0 {
			m.Retry.MaxBackoff = Duration(10 * time.Second)
		}
		for j := range m.Deployments {
			if m.Deployments[j].Weight == 0 {
				m.Deployments[j].Weight = 1
			}
		}
	}
}

// Strategies lists the accepted values of models[].strategy.
var Strategies = []string{"weighted", "round-robin", "least-busy", "latency", "cost", "usage", "priority"}

// ProviderTypeKnown reports whether a provider type is registered. It is set
// by the provider registry so that config does not import every provider.
var ProviderTypeKnown = func(string) bool { return true }

// ProviderTypes lists registered provider types for error messages.
var ProviderTypes = func() []string { return nil }

// Validate checks the whole config and returns every problem found, each
// naming the source, the key and what is wrong.
func (c *Config) Validate() error {
	var errs problems
	errs.src = c.Source
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs.add("listen", "must be host:port, got %q", c.Listen)
	}
	if c.Demo {
		if !isLoopback(c.Listen) {
			errs.add("listen", "--demo runs without auth and listens on loopback only; %q is not a loopback address", c.Listen)
		}
	} else if c.MasterKey == "" {
		errs.add("master_key", "is required: set master_key in the config file or the SWITCHBOARD_MASTER_KEY environment variable (or run with --demo)")
	} else if len(c.MasterKey) < 8 {
		errs.add("master_key", "is too short (at least 8 characters)")
	}
	if !strings.HasPrefix(c.Database, "sqlite://") && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		errs.add("database", "must start with sqlite:// or postgres://, got %q", c.Database)
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "rediss://") {
		errs.add("redis", "must start with redis:// or rediss://, got %q", c.Redis)
	}
	if c.MaxBodyBytes < 0 {
		errs.add("max_body_bytes", "must be positive, got %d", c.MaxBodyBytes)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs.add("log.level", "must be one of debug, info, warn, error; got %q", c.Log.Level)
	}

	providers := map[string]bool{}
	for i, p := range c.Providers {
		key := c.entryKey("providers", i, p.Name)
		if p.Name == "" {
			errs.add(key+".name", "is required")
		} else if providers[p.Name] {
			errs.add(key+".name", "duplicate provider name %q", p.Name)
		}
		providers[p.Name] = true
		if p.Type == "" {
			errs.add(key+".type", "is required (one of %s)", strings.Join(ProviderTypes(), ", "))
		} else if !ProviderTypeKnown(p.Type) {
			errs.add(key+".type", "unknown provider type %q (one of %s)", p.Type, strings.Join(ProviderTypes(), ", "))
		}
		if p.BaseURL != "" {
			if u, err := url.Parse(p.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs.add(key+".base_url", "must be an http(s) URL, got %q", p.BaseURL)
			}
		}
		if p.Type == "azure" && p.BaseURL == "" {
			errs.add(key+".base_url", "is required for azure (the resource endpoint, e.g. https://NAME.openai.azure.com)")
		}
	}

	models := map[string]bool{}
	for i, m := range c.Models {
		key := c.entryKey("models", i, m.Name)
		if m.Name == "" {
			errs.add(key+".name", "is required")
		} else if models[m.Name] {
			errs.add(key+".name", "duplicate model name %q", m.Name)
		}
		models[m.Name] = true
		if !contains(Strategies, m.Strategy) {
			errs.add(key+".strategy", "unknown strategy %q (one of %s)", m.Strategy, strings.Join(Strategies, ", "))
		}
		if len(m.Deployments) == 0 {
			errs.add(key+".deployments", "at least one deployment is required")
		}
		if m.Retry.Attempts < 0 {
			errs.add(key+".retry.attempts", "must not be negative, got %d", m.Retry.Attempts)
		}
		pattern := strings.HasSuffix(m.Name, "/*")
		for j, d := range m.Deployments {
			dk := fmt.Sprintf("%s.deployments[%d]", key, j)
			if d.Provider == "" {
				errs.add(dk+".provider", "is required")
			} else if !providers[d.Provider] {
				errs.add(dk+".provider", "unknown provider %q (define it under providers)", d.Provider)
			}
			if d.Model == "" {
				errs.add(dk+".model", "is required (the upstream model id)")
			}
			if d.Model == "*" && !pattern {
				errs.add(dk+".model", `"*" is only allowed in a pattern model whose name ends in "/*"`)
			}
			if d.Weight < 0 {
				errs.add(dk+".weight", "must not be negative, got %d", d.Weight)
			}
			if d.RPM < 0 || d.TPM < 0 {
				errs.add(dk, "rpm and tpm must not be negative")
			}
			if p := d.Price; p != nil && (p.InputPerMTok < 0 || p.OutputPerMTok < 0 || p.CachedInputPerMTok < 0) {
				errs.add(dk+".price", "prices must not be negative")
			}
		}
	}
	for i, m := range c.Models {
		for key, list := range map[string][]string{"fallbacks": m.Fallbacks, "context_window_fallbacks": m.ContextWindowFallbacks, "content_policy_fallbacks": m.ContentPolicyFallbacks} {
			for j, f := range list {
				k := fmt.Sprintf("%s.%s[%d]", c.entryKey("models", i, m.Name), key, j)
				switch {
				case !models[f]:
					errs.add(k, "unknown model %q", f)
				case f == m.Name:
					errs.add(k, "a model cannot fall back to itself")
				case strings.HasSuffix(f, "/*"):
					errs.add(k, "a pattern model cannot be a fallback")
				}
			}
		}
		if m.ContextWindow < 0 {
			errs.add(c.entryKey("models", i, m.Name)+".context_window", "must not be negative")
		}
	}
	if c.Log.Payloads.MaxBytes < 0 {
		errs.add("log.payloads.max_bytes", "must be positive, got %d", c.Log.Payloads.MaxBytes)
	}
	for i, r := range c.Log.Payloads.Redact {
		if _, err := regexp.Compile(r.Pattern); err != nil || r.Pattern == "" {
			errs.add(fmt.Sprintf("log.payloads.redact[%d].pattern", i), "must be a regular expression (RE2 syntax), got %q", r.Pattern)
		}
	}
	if r := c.Tracing.SampleRate; r != nil && (*r < 0 || *r > 1) {
		errs.add("tracing.sample_rate", "must be between 0 and 1, got %v", *r)
	}
	if e := c.Tracing.Endpoint; e != "" {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs.add("tracing.endpoint", "must be an http(s) URL (the OTLP/HTTP base, e.g. http://localhost:4318), got %q", e)
		}
	}
	if c.Budgets.AlertAt < 0 || c.Budgets.AlertAt > 1 {
		errs.add("budgets.alert_at", "must be a share between 0 and 1, got %v", c.Budgets.AlertAt)
	}
	if c.Budgets.Unpriced != "block" && c.Budgets.Unpriced != "allow" {
		errs.add("budgets.unpriced", "must be block or allow, got %q", c.Budgets.Unpriced)
	}
	if r := c.RetryBudget.Ratio; r < 0 || r > 10 {
		errs.add("retry_budget.ratio", "must be between 0 and 10, got %v", r)
	}
	if c.CircuitBreaker.Failures < 0 || c.CircuitBreaker.Probes < 0 {
		errs.add("circuit_breaker", "failures and probes must not be negative")
	}
	switch c.Cache.Scope {
	case "key", "team", "org", "global":
	default:
		errs.add("cache.scope", "must be key, team, org or global, got %q", c.Cache.Scope)
	}
	if c.Cache.MaxEntryBytes < 0 || c.Cache.MaxBytes < 0 {
		errs.add("cache", "max_entry_bytes and max_bytes must not be negative")
	}
	if t := c.Cache.Semantic.Threshold; t < 0 || t > 1 {
		errs.add("cache.semantic.threshold", "must be between 0 and 1, got %v", t)
	}
	if c.SemanticOn() {
		if e := c.Cache.Semantic.EmbeddingModel; e == "" {
			errs.add("cache.semantic.embedding_model", "is required when the semantic cache is on (a model group that serves embeddings)")
		} else if !models[e] {
			errs.add("cache.semantic.embedding_model", "unknown model %q (define it under models)", e)
		}
	}
	return errs.err()
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// problems collects validation messages.
type problems struct {
	src  string
	list []string
}

func (p *problems) add(key, format string, args ...any) {
	src := p.src
	if strings.Contains(key, `["`) { // an entry named, not numbered: not from the file
		src = "admin API"
	}
	p.list = append(p.list, fmt.Sprintf("%s: %s: %s", src, key, fmt.Sprintf(format, args...)))
}

// entryKey names the i-th provider or model in a problem: by its place
// in the file, or by name if it was defined through the admin API.
func (c *Config) entryKey(list string, i int, name string) string {
	if from, ok := c.runtimeFrom[list]; ok && i >= from {
		return fmt.Sprintf("%s[%q]", list, name)
	}
	return fmt.Sprintf("%s[%d]", list, i)
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &Error{Problems: p.list}
}

// Error lists every problem found in a config.
type Error struct{ Problems []string }

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "config: " + e.Problems[0]
	}
	return "config: " + fmt.Sprint(len(e.Problems)) + " problems:\n  " + strings.Join(e.Problems, "\n  ")
}
