package gemini

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strconv"

	gem "github.com/switchboard-gw/switchboard/internal/api/gemini"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// generatedPrefix marks tool call ids Switchboard made up because Gemini
// sent none; they are not sent back to Gemini.
const generatedPrefix = "call_gm_"

// callID is a stable id for the nth call of a candidate: the same response
// always yields the same ids, streamed or not.
func callID(responseID string, candidate, n int, name string) string {
	h := fnv.New64a()
	h.Write([]byte(responseID))
	h.Write([]byte{byte(candidate), byte(n)})
	h.Write([]byte(name))
	return generatedPrefix + strconv.FormatUint(h.Sum64(), 36)
}

func extraContent(signature string) json.RawMessage {
	if signature == "" {
		return nil
	}
	b, _ := json.Marshal(map[string]any{"google": map[string]string{"thought_signature": signature}})
	return b
}

func compactArgs(args json.RawMessage) string {
	if len(bytes.TrimSpace(args)) == 0 || string(args) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, args) != nil {
		return string(args)
	}
	return b.String()
}

// finishReason maps Gemini's finish reasons; a turn that called functions
// finishes with tool_calls whatever Gemini said.
func finishReason(reason string, calledTools bool) string {
	switch reason {
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE":
		return "content_filter"
	}
	if calledTools {
		return "tool_calls"
	}
	return "stop"
}

func openAIUsage(u *gem.UsageMetadata) *wire.Usage {
	if u == nil {
		return nil
	}
	completion := u.CandidatesTokenCount + u.ThoughtsTokenCount
	return &wire.Usage{
		PromptTokens: u.PromptTokenCount, CompletionTokens: completion, TotalTokens: u.PromptTokenCount + completion,
		PromptTokensDetails:     &wire.PromptTokensDetails{CachedTokens: u.CachedContentTokenCount},
		CompletionTokensDetails: &wire.CompletionTokensDetails{ReasoningTokens: u.ThoughtsTokenCount},
	}
}

func usageOf(u *gem.UsageMetadata) provider.Usage {
	if u == nil {
		return provider.Usage{}
	}
	return provider.Usage{Input: u.PromptTokenCount, Output: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CacheRead: u.CachedContentTokenCount, Reasoning: u.ThoughtsTokenCount}
}

// fromGemini translates a generateContent response.
func fromGemini(r *gem.Response, model string, created int64) *wire.ChatResponse {
	res := &wire.ChatResponse{ID: r.ResponseID, Object: "chat.completion", Created: created, Model: r.ModelVersion, Usage: openAIUsage(r.UsageMetadata)}
	if res.Model == "" {
		res.Model = model
	}
	if res.ID == "" {
		res.ID = "chatcmpl-gemini"
	}
	if len(r.Candidates) == 0 {
		// The prompt itself was blocked.
		empty := ""
		res.Choices = []wire.Choice{{Message: wire.ResponseMessage{Role: "assistant", Content: &empty}, FinishReason: "content_filter", Logprobs: json.RawMessage("null")}}
		return res
	}
	for ci, c := range r.Candidates {
		msg := wire.ResponseMessage{Role: "assistant"}
		var text bytes.Buffer
		for _, p := range c.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				id := p.FunctionCall.ID
				if id == "" {
					id = callID(r.ResponseID, ci, len(msg.ToolCalls), p.FunctionCall.Name)
				}
				msg.ToolCalls = append(msg.ToolCalls, wire.ToolCall{ID: id, Type: "function",
					Function:     wire.FunctionCall{Name: p.FunctionCall.Name, Arguments: compactArgs(p.FunctionCall.Args)},
					ExtraContent: extraContent(p.ThoughtSignature)})
			case p.Thought:
				msg.ReasoningContent += p.Text
			default:
				text.WriteString(p.Text)
			}
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			s := text.String()
			msg.Content = &s
		}
		res.Choices = append(res.Choices, wire.Choice{Index: c.Index, Message: msg,
			FinishReason: finishReason(c.FinishReason, len(msg.ToolCalls) > 0), Logprobs: json.RawMessage("null")})
	}
	return res
}
