package e2e

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/fixtures"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/spectest"
)

// Embeddings through OpenAI and Azure, as floats and as base64 (what the
// official Node SDK asks for by default), with dimensions.
func TestEmbeddings(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := sdk(gw.URL)
	ctx := context.Background()
	for _, model := range []string{"embed", "azure-embed", "gemini-embed", "titan-embed", "bedrock-cohere-embed", "cohere-embed"} {
		for _, format := range []openai.EmbeddingNewParamsEncodingFormat{"float", "base64"} {
			t.Run(model+"/"+string(format), func(t *testing.T) {
				res, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
					Model:          model,
					Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"the cat sat", "on the mat"}},
					EncodingFormat: format,
					Dimensions:     openai.Int(16),
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Data) != 2 {
					t.Fatalf("got %d embeddings", len(res.Data))
				}
				for i, text := range []string{"the cat sat", "on the mat"} {
					want := mock.Embedding(text, 16)
					got := res.Data[i].Embedding
					if len(got) != 16 {
						t.Fatalf("dimensions = %d", len(got))
					}
					for k := range want {
						if math.Abs(got[k]-want[k]) > 1e-6 {
							t.Fatalf("embedding %d differs at %d: %v vs %v", i, k, got[k], want[k])
						}
					}
				}
				if res.Usage.PromptTokens == 0 {
					t.Errorf("usage = %+v", res.Usage)
				}
				spectest.Validate(t, spectest.Embeddings, []byte(res.RawJSON()))
			})
		}
	}
}

// A client asking for base64 gets base64 even from an upstream that
// answered in floats.
func TestEmbeddingsBase64FromFloats(t *testing.T) {
	floats := fixtures.Read(t, "fixtures/openai-node/embeddings-float-response.json")
	gw := openAIGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: floats}, "text-embedding-3-small")
	resp, out := post(t, gw.URL, "/v1/embeddings", `{"model":"embed","input":"hello","encoding_format":"base64"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, out)
	}
	want := gjson.GetBytes(floats, "data.0.embedding").Array()
	got, err := wire.DecodeFloats(gjson.GetBytes(out, "data.0.embedding").String())
	if err != nil || len(got) != len(want) || len(want) == 0 {
		t.Fatalf("decoded %d floats (%v), want %d", len(got), err, len(want))
	}
	for i := range want {
		if float32(want[i].Float()) != got[i] {
			t.Fatalf("float %d: %v != %v", i, got[i], want[i].Float())
		}
	}
	spectest.Validate(t, spectest.Embeddings, out)
	// Recorded base64 answers pass through untouched.
	b64 := fixtures.Read(t, "fixtures/openai-node/embeddings-base64-response.json")
	gw2 := openAIGateway(t, fixtures.Reply{Header: http.Header{"Content-Type": {"application/json"}}, Body: b64}, "text-embedding-3-small")
	_, out = post(t, gw2.URL, "/v1/embeddings", `{"model":"embed","input":"hello","encoding_format":"base64"}`)
	if string(out) != string(b64) {
		t.Errorf("base64 answer changed on the way")
	}
}

// /v1/models lists the configured names; health endpoints answer.
func TestModelsAndHealth(t *testing.T) {
	_, up := startMock(t, mock.Options{})
	gw := startGateway(t, mockConfig, up)
	client := sdk(gw.URL)
	page, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	want := []string{"azure-embed", "azure-gpt", "bedrock", "bedrock-cohere-embed", "claude", "claude-embed", "claude-lenient", "cohere", "cohere-embed", "embed", "gemini", "gemini-embed", "gpt", "slow", "titan-embed"}
	if b, _ := json.Marshal(ids); string(b) != mustJSON(want) {
		t.Errorf("models = %v, want %v", ids, want)
	}
	spectest.Validate(t, spectest.ModelList, []byte(page.RawJSON()))
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(gw.URL + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", path, resp, err)
		}
	}
	// Without a key, the model list is refused too.
	req, _ := http.NewRequest("GET", gw.URL+"/v1/models", nil)
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 401 {
		t.Errorf("models without key: %d", resp.StatusCode)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }
