package e2e

import (
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

// pydantic-ai's recorded embeddings calls and errors for Google, Cohere and
// OpenAI, through /v1/embeddings in OpenAI's shape.
func TestReplayEmbeddingCassettes(t *testing.T) {
	const dir = "fixtures/pydantic-ai/tests/cassettes/test_embeddings/"
	for _, c := range []struct {
		file, typ, base, model string
		dims                   int
		status                 int
	}{
		{"TestGoogle.test_query_with_dimensions.yaml", "gemini", "", "gemini-embedding-2-preview", 768, 200},
		{"TestGoogle.test_embed_error.yaml", "gemini", "", "nonexistent-model", 0, 404},
		{"TestCohere.test_query.yaml", "cohere", "", "embed-v4.0", 0, 200},
		{"TestCohere.test_embed_error.yaml", "cohere", "", "nonexistent", 0, 404},
		{"TestOpenAI.test_query.yaml", "openai", "/v1", "text-embedding-3-small", 0, 200},
		{"TestOpenAI.test_embed_error.yaml", "openai", "/v1", "nonexistent", 0, 404},
	} {
		t.Run(c.file, func(t *testing.T) {
			it := fixtures.Cassette(t, dir+c.file)[0]
			up := fixtures.Serve(t, fixtures.ReplyOf(it))
			model := c.model
			if m := gjson.GetBytes(it.ReqBody, "model").String(); m != "" && c.typ != "gemini" {
				model = m
			}
			gw := startGateway(t, `
master_key: ${MASTER}
providers:
  - name: p
    type: `+c.typ+`
    base_url: ${UPSTREAM}`+c.base+`
    api_key: k
models:
  - name: e
    deployments: [{provider: p, model: "`+model+`"}]
`, up.URL)
			var texts []string
			for _, path := range []string{"requests.#.content.parts.0.text", "texts", "input"} {
				if r := gjson.GetBytes(it.ReqBody, path); r.Exists() {
					if r.IsArray() {
						for _, x := range r.Array() {
							texts = append(texts, x.String())
						}
					} else {
						texts = append(texts, r.String())
					}
					break
				}
			}
			in, _ := jsonMarshal(texts)
			body := `{"model":"e","input":` + in
			if c.dims > 0 {
				body += `,"dimensions":` + itoa(c.dims)
			}
			resp, out := post(t, gw.URL, "/v1/embeddings", body+"}")
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, recorded %d: %s", resp.StatusCode, c.status, out)
			}
			if c.status != 200 {
				if gjson.GetBytes(out, "error.message").String() == "" {
					t.Errorf("error body %s", out)
				}
				return
			}
			spectest.Validate(t, spectest.Embeddings, out)
			data := gjson.GetBytes(out, "data").Array()
			if len(data) != len(texts) || len(data) == 0 {
				t.Fatalf("%d embeddings for %d texts", len(data), len(texts))
			}
			var first gjson.Result
			for _, path := range []string{"embeddings.0.values", "embeddings.float.0", "data.0.embedding"} {
				if r := gjson.GetBytes(it.RespBody, path); r.Exists() {
					first = r
					break
				}
			}
			got := data[0].Get("embedding").Array()
			if first.IsArray() && (len(got) != len(first.Array()) || got[0].Float() != first.Array()[0].Float()) {
				t.Errorf("embedding differs from the recorded one (%d vs %d values)", len(got), len(first.Array()))
			}
			if c.dims > 0 && !strings.Contains(string(up.Requests()[0].Body), `"outputDimensionality":768`) {
				t.Errorf("dimensions did not reach Gemini: %s", up.Requests()[0].Body)
			}
		})
	}
}
