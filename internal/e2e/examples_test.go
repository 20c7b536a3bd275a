package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/switchboard-gw/switchboard/internal/config"
	"github.com/switchboard-gw/switchboard/internal/mock"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// The example configs in examples/ load, and the mock one serves every
// model it names.
func TestExamples(t *testing.T) {
	env := map[string]string{"SWITCHBOARD_MASTER_KEY": masterKey, "OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a",
		"AZURE_OPENAI_API_KEY": "az", "GROQ_API_KEY": "gsk"}
	cfg, err := config.Load("../../examples/switchboard.yaml", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Build(cfg, provider.NewHTTPClient(0)); err != nil {
		t.Fatal(err)
	}

	_, up := startMock(t, mock.Options{})
	env["MOCK_URL"] = up
	yaml, err := os.ReadFile("../../examples/mock.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Parse("examples/mock.yaml", yaml, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	gw := startWithConfig(t, cfg, false)
	client := sdk(gw.URL)
	for _, model := range []string{"gpt", "claude", "balanced"} {
		res, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")}})
		if err != nil || res.Choices[0].Message.Content == "" {
			t.Errorf("%s: %v", model, err)
		}
	}
	if _, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "embed", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hi")}}); err != nil {
		t.Errorf("embed: %v", err)
	}
}
