package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/provider"
	_ "github.com/switchboard-gw/switchboard/internal/provider/all"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestGoodConfigs(t *testing.T) {
	cfg, err := config.Load("testdata/full.good.yml", env(map[string]string{"TEST_MASTER_KEY": "sk-from-env-123"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MasterKey != "sk-from-env-123" || cfg.Providers[0].APIKey != "sk-default" || cfg.Listen != "127.0.0.1:9000" {
		t.Errorf("expansion: master %q, api_key %q, listen %q", cfg.MasterKey, cfg.Providers[0].APIKey, cfg.Listen)
	}
	m := cfg.Models[0]
	if m.Timeout.D() != time.Minute || m.Retry.Attempts != 2 || m.Deployments[0].Weight != 3 || m.Deployments[1].Weight != 1 ||
		m.Deployments[0].Price.CachedInputPerMTok != 0.075 || m.Cache.TTL.D() != 10*time.Minute || m.Fallbacks[0] != "claude-haiku" {
		t.Errorf("model = %+v", m)
	}
	if cfg.Models[1].Strategy != "weighted" || cfg.Models[1].Timeout.D() != config.DefaultModelTimeout {
		t.Errorf("defaults not applied: %+v", cfg.Models[1])
	}
	if cfg.ShutdownGrace.D() != 15*time.Second || !cfg.Log.Access || cfg.Log.Level != "debug" || cfg.MaxBodyBytes != 1<<20 || cfg.Log.Retention.D() != 90*24*time.Hour {
		t.Errorf("top level = %+v", cfg)
	}

	cfg, err = config.Load("testdata/minimal.good.yml", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != config.DefaultListen || cfg.MaxBodyBytes != config.DefaultMaxBodyBytes || cfg.Database != config.DefaultDatabase || cfg.Log.Retention.D() != config.DefaultLogRetention {
		t.Errorf("defaults = %+v", cfg)
	}
	// SWITCHBOARD_LISTEN overrides the file; SWITCHBOARD_MASTER_KEY fills an empty master_key.
	cfg, err = config.Load("testdata/minimal.good.yml", env(map[string]string{"SWITCHBOARD_LISTEN": "127.0.0.1:7000"}))
	if err != nil || cfg.Listen != "127.0.0.1:7000" {
		t.Errorf("listen override: %v %v", cfg, err)
	}
	cfg, err = config.Load("testdata/no-master-key.bad.yml", env(map[string]string{"SWITCHBOARD_MASTER_KEY": "sk-env-master"}))
	if err != nil || cfg.MasterKey != "sk-env-master" {
		t.Errorf("master key from env: %v", err)
	}
}

func TestBadConfigs(t *testing.T) {
	cases := []struct{ file, want string }{
		{"unknown-key.bad.yml", `testdata/unknown-key.bad.yml: line 6: unknown key "apikey" (in Provider)`},
		{"unknown-type.bad.yml", `testdata/unknown-type.bad.yml: providers[0].type: unknown provider type "openia" (one of anthropic, azure, bedrock,`},
		{"no-master-key.bad.yml", `testdata/no-master-key.bad.yml: master_key: is required: set master_key in the config file or the SWITCHBOARD_MASTER_KEY environment variable`},
		{"bad-duration.bad.yml", `testdata/bad-duration.bad.yml: line 2: invalid duration "forever"`},
		{"bad-type.bad.yml", `testdata/bad-type.bad.yml: line 2: value "lots" is not a whole number`},
		{"unknown-provider-ref.bad.yml", `testdata/unknown-provider-ref.bad.yml: models[0].deployments[0].provider: unknown provider "opneai"`},
		{"unknown-fallback.bad.yml", `testdata/unknown-fallback.bad.yml: models[0].fallbacks[0]: unknown model "claude"`},
		{"duplicate-model.bad.yml", `testdata/duplicate-model.bad.yml: models[1].name: duplicate model name "gpt"`},
		{"bad-strategy.bad.yml", `testdata/bad-strategy.bad.yml: models[0].strategy: unknown strategy "fastest"`},
		{"no-deployments.bad.yml", `testdata/no-deployments.bad.yml: models[0].deployments: at least one deployment is required`},
		{"bad-yaml.bad.yml", `testdata/bad-yaml.bad.yml: `},
		{"bad-database.bad.yml", `testdata/bad-database.bad.yml: database: must start with sqlite:// or postgres://`},
		{"azure-no-base.bad.yml", `testdata/azure-no-base.bad.yml: providers[0].base_url: is required for azure`},
		{"star-outside-pattern.bad.yml", `testdata/star-outside-pattern.bad.yml: models[0].deployments[0].model: "*" is only allowed in a pattern model`},
		{"bad-env-syntax.bad.yml", `testdata/bad-env-syntax.bad.yml: line 1: unterminated ${`},
		{"bad-alert.bad.yml", `testdata/bad-alert.bad.yml: budgets.alert_at: must be a share between 0 and 1, got 1.5`},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			_, err := config.Load("testdata/"+c.file, env(nil))
			if err == nil {
				t.Fatal("config accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("error %q lacks the component prefix", err)
			}
		})
	}
	if _, err := config.Load("testdata/does-not-exist.yml", env(nil)); err == nil || !strings.Contains(err.Error(), "does-not-exist.yml") {
		t.Errorf("missing file: %v", err)
	}
}

// Every problem is reported at once, not one per restart.
func TestAllProblemsReported(t *testing.T) {
	_, err := config.Parse("x.yml", []byte("database: nope\nproviders:\n  - {name: a, type: bogus}\n"), env(nil))
	ce, ok := err.(*config.Error)
	if !ok || len(ce.Problems) < 3 {
		t.Fatalf("got %v", err)
	}
}

func TestExpand(t *testing.T) {
	e := env(map[string]string{"A": "1", "EMPTY": ""})
	for in, want := range map[string]string{
		"${A}":           "1",
		"x${A}y":         "x1y",
		"${B:-def}":      "def",
		"${EMPTY:-def}":  "def",
		"${A:-def}":      "1",
		"$$":             "$",
		"$${A}":          "${A}",
		"cost $5":        "cost $5",
		"${MISSING}":     "",
		"${A}${A}":       "11",
		"${B:-a:-b}":     "a:-b",
		"plain":          "plain",
		"${A:-}":         "1",
		"trailing $":     "trailing $",
		"${B:-${nested}": "${nested",
	} {
		got, err := config.Expand(in, e)
		if err != nil || got != want {
			t.Errorf("Expand(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"${", "${A", "${1A}", "${A B}"} {
		if _, err := config.Expand(bad, e); err == nil {
			t.Errorf("Expand(%q) accepted", bad)
		}
	}
}

// Without a file, providers come from their usual environment variables
// and every model is reachable as provider/model.
func TestFromEnv(t *testing.T) {
	cfg, err := config.FromEnv(env(map[string]string{
		"SWITCHBOARD_MASTER_KEY":   "sk-master-from-env",
		"OPENAI_API_KEY":           "sk-openai",
		"ANTHROPIC_API_KEY":        "sk-ant",
		"GROQ_API_KEY":             "gsk",
		"AZURE_OPENAI_API_KEY":     "az-without-endpoint",
		"OLLAMA_BASE_URL":          "http://127.0.0.1:11434/v1",
		"AWS_BEARER_TOKEN_BEDROCK": "bedrock-key",
		"AWS_REGION":               "eu-west-1",
	}), provider.EnvSpecs())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range cfg.Providers {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != "anthropic,bedrock,groq,ollama,openai" {
		t.Errorf("providers = %s", got)
	}
	for _, m := range cfg.Models {
		if !strings.HasSuffix(m.Name, "/*") || m.Deployments[0].Model != "*" {
			t.Errorf("model = %+v", m)
		}
	}
	if _, err := config.FromEnv(env(map[string]string{"OPENAI_API_KEY": "k"}), provider.EnvSpecs()); err == nil || !strings.Contains(err.Error(), "master_key") {
		t.Errorf("no master key from env: %v", err)
	}
}

func TestDemoListensOnLoopbackOnly(t *testing.T) {
	for addr, ok := range map[string]bool{"127.0.0.1:8080": true, "localhost:1": true, "[::1]:80": true, "0.0.0.0:8080": false, "10.0.0.1:80": false} {
		cfg := &config.Config{Demo: true, Listen: addr, Source: "demo"}
		cfg.ApplyDefaults()
		if err := cfg.Validate(); (err == nil) != ok {
			t.Errorf("demo on %s: %v", addr, err)
		}
	}
}
