// Package provider defines what an upstream LLM API must do for Switchboard
// and keeps the registry of provider types. Each provider lives in its own
// sub-package and registers itself by type name; nothing else in the tree
// switches on provider types.
package provider

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"

	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/config"
)

// Provider calls one upstream account.
type Provider interface {
	// Chat performs one chat completion attempt. Errors are *api.Error with
	// the upstream's status where there was one.
	Chat(ctx context.Context, req *ChatRequest) (*Response, error)
	// Embed performs one embeddings call; providers without embeddings
	// return a 400 *api.Error saying so.
	Embed(ctx context.Context, req *EmbedRequest) (*Response, error)
}

// ChatRequest is one chat attempt against one deployment.
type ChatRequest struct {
	// Body is the client's OpenAI-format JSON, already checked by ScanChat.
	// Providers must not modify it: later attempts reuse it.
	Body   []byte
	Fields *openai.ChatFields
	// Model is the upstream model id of the deployment.
	Model string
	// DropParams allows dropping parameters the provider cannot honour;
	// otherwise they are refused with a 400.
	DropParams bool
	// OnDrop, if set, is told about each dropped parameter.
	OnDrop func(param string)
}

// EmbedRequest is one embeddings attempt.
type EmbedRequest struct {
	Body   []byte
	Fields *openai.EmbedFields
	Model  string
}

// Passthrough is implemented by providers that take an inbound format's
// body as it is: Anthropic Messages to Anthropic, Responses to OpenAI. The
// gateway prefers it over translating twice.
type Passthrough interface {
	// Speaks reports whether the provider takes this inbound format.
	Speaks(format string) bool
	// Pass sends the body with only the model rewritten; the answer (JSON or
	// stream events) is in the same format and marked Raw.
	Pass(ctx context.Context, req *PassRequest) (*Response, error)
}

// Inbound formats a provider may take as is.
const (
	FormatMessages  = "messages"
	FormatResponses = "responses"
)

// FormatName names an inbound format's API for messages.
func FormatName(format string) string {
	switch format {
	case FormatMessages:
		return "Anthropic Messages"
	case FormatResponses:
		return "OpenAI Responses"
	}
	return format
}

// PassRequest is an inbound body to forward as is.
type PassRequest struct {
	Format string
	Body   []byte
	Model  string
	Stream bool
	// Header holds client headers the upstream should see (anthropic-beta).
	Header http.Header
	// Untranslated names request fields only a provider speaking the
	// format can honour; other providers refuse them (or drop them when
	// the model allows).
	Untranslated []string
}

// Response is a successful upstream answer, in OpenAI's format unless Raw.
type Response struct {
	// Raw marks a pass-through answer, in the inbound format.
	Raw bool
	// Body is the JSON response of a non-streaming call.
	Body []byte
	// Stream is set for streaming calls; the caller must Close it.
	Stream Stream
	// Usage of a non-streaming call (streams report theirs at the end).
	Usage Usage
	// Header is the upstream's response headers; of these only the
	// rate-limit ones (IsRateLimitHeader) reach the client.
	Header http.Header
}

// Stream yields OpenAI chat.completion.chunk payloads.
type Stream interface {
	// Next returns the next chunk's JSON, valid until the following call;
	// io.EOF after a complete stream; any other error when the stream
	// broke (an *api.Error when the upstream said why).
	Next() ([]byte, error)
	// Usage is the stream's token usage, complete after io.EOF.
	Usage() Usage
	Close() error
}

// Usage counts tokens. Input includes cached reads and cache writes.
type Usage struct {
	Input      int64
	Output     int64
	CacheRead  int64
	CacheWrite int64
	Reasoning  int64
	// Estimated marks counts Switchboard made itself because the provider
	// sent none.
	Estimated bool
}

// Spec describes a provider type.
type Spec struct {
	Type string
	// New builds a provider from its config block. hc is shared by all
	// providers so connections are pooled.
	New func(cfg config.Provider, hc *http.Client) (Provider, error)
	// Env tells env discovery how to find this type's credentials.
	Env config.EnvSpec
}

var (
	mu       sync.RWMutex
	registry = map[string]Spec{}
)

// Register adds a provider type; it panics on a duplicate, which is a
// programming error found at start.
func Register(s Spec) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[s.Type]; dup {
		panic("provider: duplicate type " + s.Type)
	}
	s.Env.Type = s.Type
	registry[s.Type] = s
}

// Lookup returns the spec of a type.
func Lookup(typ string) (Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := registry[typ]
	return s, ok
}

// Types lists registered types, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// EnvSpecs lists how every registered type is found in the environment.
func EnvSpecs() []config.EnvSpec {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]config.EnvSpec, 0, len(registry))
	for _, s := range registry {
		if s.Env.KeyVar != "" || s.Env.BaseURLVar != "" || s.Env.Detect != nil {
			out = append(out, s.Env)
		}
	}
	return out
}

// Build constructs every provider of a config, by name.
func Build(cfg *config.Config, hc *http.Client) (map[string]Provider, error) {
	out := make(map[string]Provider, len(cfg.Providers))
	for i, pc := range cfg.Providers {
		spec, ok := Lookup(pc.Type)
		if !ok {
			return nil, fmt.Errorf("config: %s: providers[%d].type: unknown provider type %q", cfg.Source, i, pc.Type)
		}
		p, err := spec.New(pc, hc)
		if err != nil {
			return nil, fmt.Errorf("config: %s: providers[%d] (%s): %w", cfg.Source, i, pc.Name, err)
		}
		out[pc.Name] = p
	}
	return out, nil
}

func init() {
	config.ProviderTypeKnown = func(t string) bool { _, ok := Lookup(t); return ok }
	config.ProviderTypes = Types
}
