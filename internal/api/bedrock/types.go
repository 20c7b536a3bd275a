// Package bedrock holds Amazon Bedrock's Converse wire format and the
// binary event-stream framing of ConverseStream.
package bedrock

import "encoding/json"

// Request is a Converse request body (the model id is in the URL).
type Request struct {
	Messages                     []Message        `json:"messages"`
	System                       []SystemBlock    `json:"system,omitempty"`
	InferenceConfig              *InferenceConfig `json:"inferenceConfig,omitempty"`
	ToolConfig                   *ToolConfig      `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields json.RawMessage  `json:"additionalModelRequestFields,omitempty"`
}

// SystemBlock is a system prompt piece.
type SystemBlock struct {
	Text string `json:"text"`
}

// Message is one turn.
type Message struct {
	Role    string  `json:"role"`
	Content []Block `json:"content"`
}

// Block is a content block; exactly one field is set.
type Block struct {
	Text             string            `json:"text,omitempty"`
	Image            *Image            `json:"image,omitempty"`
	Document         *Document         `json:"document,omitempty"`
	ToolUse          *ToolUse          `json:"toolUse,omitempty"`
	ToolResult       *ToolResult       `json:"toolResult,omitempty"`
	ReasoningContent *ReasoningContent `json:"reasoningContent,omitempty"`
}

// Image is inline image bytes (base64 in JSON).
type Image struct {
	Format string      `json:"format"`
	Source BytesSource `json:"source"`
}

// Document is an inline document.
type Document struct {
	Format string      `json:"format"`
	Name   string      `json:"name"`
	Source BytesSource `json:"source"`
}

// BytesSource holds base64 bytes.
type BytesSource struct {
	Bytes string `json:"bytes"`
}

// ToolUse is a call the model makes.
type ToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

// ToolResult is a tool's answer.
type ToolResult struct {
	ToolUseID string              `json:"toolUseId"`
	Content   []ToolResultContent `json:"content"`
	Status    string              `json:"status,omitempty"`
}

// ToolResultContent is text or JSON.
type ToolResultContent struct {
	Text string          `json:"text,omitempty"`
	JSON json.RawMessage `json:"json,omitempty"`
}

// ReasoningContent is a model's reasoning, signed.
type ReasoningContent struct {
	ReasoningText *ReasoningText `json:"reasoningText,omitempty"`
}

// ReasoningText is reasoning text and its signature.
type ReasoningText struct {
	Text      string `json:"text"`
	Signature string `json:"signature,omitempty"`
}

// InferenceConfig holds sampling settings.
type InferenceConfig struct {
	MaxTokens     *int64   `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

// ToolConfig declares tools and the choice.
type ToolConfig struct {
	Tools      []Tool          `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

// Tool wraps a tool spec.
type Tool struct {
	ToolSpec ToolSpec `json:"toolSpec"`
}

// ToolSpec declares one tool.
type ToolSpec struct {
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	InputSchema InputSchema `json:"inputSchema"`
}

// InputSchema wraps a JSON Schema.
type InputSchema struct {
	JSON json.RawMessage `json:"json"`
}

// Response is a Converse response.
type Response struct {
	Output struct {
		Message Message `json:"message"`
	} `json:"output"`
	StopReason string `json:"stopReason"`
	Usage      Usage  `json:"usage"`
}

// Usage counts tokens.
type Usage struct {
	InputTokens           int64 `json:"inputTokens"`
	OutputTokens          int64 `json:"outputTokens"`
	TotalTokens           int64 `json:"totalTokens"`
	CacheReadInputTokens  int64 `json:"cacheReadInputTokens,omitempty"`
	CacheWriteInputTokens int64 `json:"cacheWriteInputTokens,omitempty"`
}

// StreamEvent is the payload of one ConverseStream event; which field is
// set depends on the event type header.
type StreamEvent struct {
	Role              string          `json:"role,omitempty"`
	ContentBlockIndex int             `json:"contentBlockIndex"`
	Start             *BlockStart     `json:"start,omitempty"`
	Delta             *BlockDelta     `json:"delta,omitempty"`
	StopReason        string          `json:"stopReason,omitempty"`
	Usage             *Usage          `json:"usage,omitempty"`
	Metrics           json.RawMessage `json:"metrics,omitempty"`
	Message           string          `json:"message,omitempty"` // exceptions
}

// BlockStart starts a tool-use block.
type BlockStart struct {
	ToolUse *struct {
		ToolUseID string `json:"toolUseId"`
		Name      string `json:"name"`
	} `json:"toolUse,omitempty"`
}

// BlockDelta is streamed content.
type BlockDelta struct {
	Text    *string `json:"text,omitempty"`
	ToolUse *struct {
		Input string `json:"input"`
	} `json:"toolUse,omitempty"`
	ReasoningContent *struct {
		Text      *string `json:"text,omitempty"`
		Signature *string `json:"signature,omitempty"`
	} `json:"reasoningContent,omitempty"`
}
