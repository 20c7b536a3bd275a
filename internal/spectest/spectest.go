// Package spectest validates OpenAI-format output against OpenAI's published
// OpenAPI document (../shared/spec/openai-openapi.yaml) in tests.
package spectest

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

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
	if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		t.Errorf("spectest: body does not match %s: %v\nbody: %s", schema, err, body)
	}
}
