// Package spectest validates OpenAI-format output against OpenAI's published
// OpenAPI document (../shared/spec/openai-openapi.yaml) in tests.
package spectest

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/fixtures"
)

// SpecFile is the spec's path under ../shared.
const SpecFile = "spec/openai-openapi.yaml"

var (
	once    sync.Once
	doc     *openapi3.T
	loadErr error
)

// Schema names used by the tests.
const (
	ChatResponse = "CreateChatCompletionResponse"
	ChatChunk    = "CreateChatCompletionStreamResponse"
	Embeddings   = "CreateEmbeddingResponse"
	ErrorBody    = "ErrorResponse"
	ModelList    = "ListModelsResponse"
)

// Validate fails the test unless body is valid JSON matching the named
// component schema.
func Validate(t testing.TB, schema string, body []byte) {
	t.Helper()
	path := fixtures.Path(t, SpecFile)
	once.Do(func() {
		l := openapi3.NewLoader()
		doc, loadErr = l.LoadFromFile(path)
	})
	if loadErr != nil {
		t.Fatalf("spectest: loading %s: %v", path, loadErr)
	}
	ref := doc.Components.Schemas[schema]
	if ref == nil || ref.Value == nil {
		t.Fatalf("spectest: no schema %q in the spec", schema)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("spectest: %s: not JSON: %v\n%s", schema, err, body)
	}
	liveDeviations(v)
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("spectest: body does not match %s: %v\nbody: %s", schema, err, body)
	}
}

// liveDeviations removes values OpenAI's own API sends although its spec
// does not allow them (seen in recorded traffic), so that traffic passed
// through unchanged still validates.
func liveDeviations(v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	if fp, ok := obj["system_fingerprint"]; ok && fp == nil {
		delete(obj, "system_fingerprint")
	}
	// Recorded chat completions omit choices[].logprobs, which the spec
	// lists as required (nullable).
	choices, _ := obj["choices"].([]any)
	for _, c := range choices {
		if m, ok := c.(map[string]any); ok {
			if _, has := m["logprobs"]; !has {
				if _, isChunk := m["delta"]; !isChunk {
					m["logprobs"] = nil
				}
			}
		}
	}
	// The spec types every embedding as a float array, but
	// encoding_format "base64" answers with a string: check that it decodes
	// to floats, and validate those.
	data, _ := obj["data"].([]any)
	for _, item := range data {
		m, _ := item.(map[string]any)
		if s, ok := m["embedding"].(string); ok {
			if vec, err := openai.DecodeFloats(s); err == nil && len(vec) > 0 {
				floats := make([]any, len(vec))
				for i, f := range vec {
					floats[i] = float64(f)
				}
				m["embedding"] = floats
			}
		}
	}
}
