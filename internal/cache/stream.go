package cache

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// Assembler rebuilds a streamed answer into the chat completion it adds
// up to, so a stream can be cached once it has ended well.
type Assembler struct {
	resp    wire.ChatResponse
	choices map[int]*choice
	ok      bool // false once a chunk could not be read (or carried logprobs)
}

type choice struct {
	role, content, refusal, reasoning strings.Builder
	finish                            string
	calls                             map[int]*wire.ToolCall
	args                              map[int]*strings.Builder
	hasContent, hasRefusal            bool
}

// NewAssembler starts an empty answer.
func NewAssembler() *Assembler { return &Assembler{choices: map[int]*choice{}, ok: true} }

// Add takes one chunk in the internal (OpenAI) shape.
func (a *Assembler) Add(chunk []byte) {
	if !a.ok {
		return
	}
	var c wire.ChatChunk
	if err := json.Unmarshal(chunk, &c); err != nil {
		a.ok = false
		return
	}
	if a.resp.ID == "" {
		a.resp.ID, a.resp.Created, a.resp.Model, a.resp.SystemFingerprint = c.ID, c.Created, c.Model, c.SystemFingerprint
	}
	for _, cc := range c.Choices {
		if len(cc.Logprobs) > 0 && string(cc.Logprobs) != "null" {
			a.ok = false // token logprobs are not kept: such answers are not cached
			return
		}
		ch := a.choices[cc.Index]
		if ch == nil {
			ch = &choice{calls: map[int]*wire.ToolCall{}, args: map[int]*strings.Builder{}}
			a.choices[cc.Index] = ch
		}
		d := cc.Delta
		if d.Role != "" && ch.role.Len() == 0 {
			ch.role.WriteString(d.Role)
		}
		if d.Content != nil {
			ch.content.WriteString(*d.Content)
			ch.hasContent = true
		}
		if d.Refusal != nil {
			ch.refusal.WriteString(*d.Refusal)
			ch.hasRefusal = true
		}
		if d.ReasoningContent != nil {
			ch.reasoning.WriteString(*d.ReasoningContent)
		}
		for _, tc := range d.ToolCalls {
			i := 0
			if tc.Index != nil {
				i = *tc.Index
			}
			call := ch.calls[i]
			if call == nil {
				call = &wire.ToolCall{Type: "function"}
				ch.calls[i], ch.args[i] = call, &strings.Builder{}
			}
			if tc.ID != "" {
				call.ID = tc.ID
			}
			if tc.Type != "" {
				call.Type = tc.Type
			}
			if tc.Function.Name != "" {
				call.Function.Name += tc.Function.Name
			}
			if len(tc.ExtraContent) > 0 {
				call.ExtraContent = tc.ExtraContent
			}
			ch.args[i].WriteString(tc.Function.Arguments)
		}
		if cc.FinishReason != nil && *cc.FinishReason != "" {
			ch.finish = *cc.FinishReason
		}
	}
}

// Complete returns the answer as a chat completion with the given usage,
// or false if the stream cannot be cached (unreadable, no choices, a
// choice that never finished).
func (a *Assembler) Complete(u provider.Usage) ([]byte, bool) {
	if !a.ok || len(a.choices) == 0 {
		return nil, false
	}
	resp := a.resp
	resp.Object = "chat.completion"
	indexes := make([]int, 0, len(a.choices))
	for i := range a.choices {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	for _, i := range indexes {
		ch := a.choices[i]
		if ch.finish == "" {
			return nil, false
		}
		m := wire.ResponseMessage{Role: ch.role.String(), ReasoningContent: ch.reasoning.String()}
		if m.Role == "" {
			m.Role = "assistant"
		}
		// Streams open with an empty content delta even when the answer is
		// tool calls or a refusal, whose message content is null.
		if s := ch.content.String(); ch.hasContent && (s != "" || (len(ch.calls) == 0 && !ch.hasRefusal)) {
			m.Content = &s
		}
		if ch.hasRefusal {
			s := ch.refusal.String()
			m.Refusal = &s
		}
		calls := make([]int, 0, len(ch.calls))
		for j := range ch.calls {
			calls = append(calls, j)
		}
		slices.Sort(calls)
		for _, j := range calls {
			call := *ch.calls[j]
			call.Function.Arguments = ch.args[j].String()
			m.ToolCalls = append(m.ToolCalls, call)
		}
		resp.Choices = append(resp.Choices, wire.Choice{Index: i, Message: m, FinishReason: ch.finish, Logprobs: json.RawMessage("null")})
	}
	resp.Usage = usageOf(u)
	b, err := json.Marshal(resp)
	return b, err == nil
}

func usageOf(u provider.Usage) *wire.Usage {
	w := &wire.Usage{PromptTokens: u.Input, CompletionTokens: u.Output, TotalTokens: u.Input + u.Output}
	if u.CacheRead > 0 || u.CacheWrite > 0 {
		w.PromptTokensDetails = &wire.PromptTokensDetails{CachedTokens: u.CacheRead, CacheCreationTokens: u.CacheWrite}
	}
	if u.Reasoning > 0 {
		w.CompletionTokensDetails = &wire.CompletionTokensDetails{ReasoningTokens: u.Reasoning}
	}
	return w
}

// Chunks turns a stored chat completion back into a stream: per choice a
// role chunk, the text in pieces, each tool call, the finish; then, if
// withUsage, the usage chunk. Each is a chat.completion.chunk in the
// internal shape, for the client's responder to write.
func Chunks(completion []byte, withUsage bool) ([][]byte, provider.Usage, error) {
	var resp wire.ChatResponse
	if err := json.Unmarshal(completion, &resp); err != nil {
		return nil, provider.Usage{}, err
	}
	var out [][]byte
	emit := func(choices []wire.ChunkChoice, usage *wire.Usage) {
		c := wire.ChatChunk{ID: resp.ID, Object: "chat.completion.chunk", Created: resp.Created, Model: resp.Model,
			SystemFingerprint: resp.SystemFingerprint, Choices: choices, Usage: usage}
		b, _ := json.Marshal(c)
		out = append(out, b)
	}
	empty := ""
	for _, ch := range resp.Choices {
		m := ch.Message
		emit([]wire.ChunkChoice{{Index: ch.Index, Delta: wire.Delta{Role: m.Role, Content: &empty}}}, nil)
		if m.ReasoningContent != "" {
			r := m.ReasoningContent
			emit([]wire.ChunkChoice{{Index: ch.Index, Delta: wire.Delta{ReasoningContent: &r}}}, nil)
		}
		if m.Content != nil {
			for _, piece := range pieces(*m.Content, 64) {
				emit([]wire.ChunkChoice{{Index: ch.Index, Delta: wire.Delta{Content: &piece}}}, nil)
			}
		}
		if m.Refusal != nil {
			r := *m.Refusal
			emit([]wire.ChunkChoice{{Index: ch.Index, Delta: wire.Delta{Refusal: &r}}}, nil)
		}
		for j, tc := range m.ToolCalls {
			j := j
			tc.Index = &j
			emit([]wire.ChunkChoice{{Index: ch.Index, Delta: wire.Delta{ToolCalls: []wire.ToolCall{tc}}}}, nil)
		}
		finish := ch.FinishReason
		emit([]wire.ChunkChoice{{Index: ch.Index, Delta: wire.Delta{}, FinishReason: &finish}}, nil)
	}
	if resp.Usage != nil && withUsage {
		emit([]wire.ChunkChoice{}, resp.Usage)
	}
	return out, fromWire(resp.Usage), nil
}

// pieces splits text into parts of about n bytes, on rune boundaries.
func pieces(s string, n int) []string {
	if s == "" {
		return []string{""}
	}
	var out []string
	for len(s) > n {
		cut := n
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

func fromWire(w *wire.Usage) provider.Usage {
	if w == nil {
		return provider.Usage{}
	}
	u := provider.Usage{Input: w.PromptTokens, Output: w.CompletionTokens}
	if d := w.PromptTokensDetails; d != nil {
		u.CacheRead, u.CacheWrite = d.CachedTokens, d.CacheCreationTokens
	}
	if d := w.CompletionTokensDetails; d != nil {
		u.Reasoning = d.ReasoningTokens
	}
	return u
}
