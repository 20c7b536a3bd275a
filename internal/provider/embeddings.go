package provider

import (
	"encoding/json"

	"github.com/switchboard-gw/switchboard/internal/api/openai"
)

// EmbeddingsBody renders vectors as an OpenAI embeddings response, as
// floats or base64 little-endian float32 as the client asked.
func EmbeddingsBody(model string, vectors [][]float64, base64 bool, promptTokens int64) ([]byte, error) {
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	type usage struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	}
	out := struct {
		Object string `json:"object"`
		Data   []item `json:"data"`
		Model  string `json:"model"`
		Usage  usage  `json:"usage"`
	}{Object: "list", Data: make([]item, len(vectors)), Model: model, Usage: usage{promptTokens, promptTokens}}
	for i, v := range vectors {
		var emb any = v
		if base64 {
			emb = openai.EncodeFloats(v)
		}
		out.Data[i] = item{Object: "embedding", Index: i, Embedding: emb}
	}
	return json.Marshal(out)
}
