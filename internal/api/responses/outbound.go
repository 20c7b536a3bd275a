package responses

import (
	"encoding/json"
	"io"
	"time"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// Response is a Responses API response object.
type Response struct {
	ID                 string            `json:"id"`
	Object             string            `json:"object"`
	CreatedAt          int64             `json:"created_at"`
	Status             string            `json:"status"`
	Error              *ErrorObject      `json:"error"`
	IncompleteDetails  *IncompleteReason `json:"incomplete_details"`
	Instructions       *string           `json:"instructions"`
	Model              string            `json:"model"`
	Output             []any             `json:"output"`
	ParallelToolCalls  bool              `json:"parallel_tool_calls"`
	PreviousResponseID *string           `json:"previous_response_id"`
	Store              bool              `json:"store"`
	Temperature        *float64          `json:"temperature"`
	TopP               *float64          `json:"top_p"`
	ToolChoice         json.RawMessage   `json:"tool_choice"`
	Tools              json.RawMessage   `json:"tools"`
	Metadata           json.RawMessage   `json:"metadata"`
	Usage              *Usage            `json:"usage,omitempty"`
}

// ErrorObject is a failed response's error.
type ErrorObject struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// IncompleteReason says why a response stopped early.
type IncompleteReason struct {
	Reason string `json:"reason"`
}

// Usage is the Responses API's token accounting.
type Usage struct {
	InputTokens        int64 `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens     int64 `json:"cached_tokens"`
		CacheWriteTokens int64 `json:"cache_write_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int64 `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int64 `json:"total_tokens"`
}

type textPart struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	Annotations []any  `json:"annotations"`
	Logprobs    []any  `json:"logprobs"`
}

type messageItem struct {
	ID      string     `json:"id"`
	Type    string     `json:"type"`
	Status  string     `json:"status"`
	Role    string     `json:"role"`
	Content []textPart `json:"content"`
}

type functionCallItem struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	CallID    string `json:"call_id"`
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type summaryPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type reasoningItem struct {
	ID      string        `json:"id"`
	Type    string        `json:"type"`
	Summary []summaryPart `json:"summary"`
}

func (in *Request) base(model string) *Response {
	r := &Response{ID: NewID("resp_"), Object: "response", CreatedAt: time.Now().Unix(), Status: "in_progress",
		Instructions: in.Instructions, Model: model, Output: []any{}, ParallelToolCalls: in.Parallel,
		Temperature: in.Temperature, TopP: in.TopP, ToolChoice: in.ToolChoice, Tools: in.Tools, Metadata: in.Metadata}
	if r.Model == "" {
		r.Model = in.Model
	}
	return r
}

func finish(r *Response, finishReason string) {
	switch finishReason {
	case "length":
		r.Status, r.IncompleteDetails = "incomplete", &IncompleteReason{Reason: "max_output_tokens"}
	case "content_filter":
		r.Status, r.IncompleteDetails = "incomplete", &IncompleteReason{Reason: "content_filter"}
	default:
		r.Status = "completed"
	}
}

func usageOf(u gjson.Result) *Usage {
	if !u.IsObject() {
		return nil
	}
	out := &Usage{InputTokens: u.Get("prompt_tokens").Int(), OutputTokens: u.Get("completion_tokens").Int()}
	out.InputTokensDetails.CachedTokens = u.Get("prompt_tokens_details.cached_tokens").Int()
	out.InputTokensDetails.CacheWriteTokens = u.Get("prompt_tokens_details.cache_creation_tokens").Int()
	out.OutputTokensDetails.ReasoningTokens = u.Get("completion_tokens_details.reasoning_tokens").Int()
	out.TotalTokens = out.InputTokens + out.OutputTokens
	return out
}

// FromChat translates a chat completion into a Responses object.
func (in *Request) FromChat(body []byte) ([]byte, error) {
	c := gjson.ParseBytes(body)
	r := in.base(c.Get("model").String())
	msg := c.Get("choices.0.message")
	if rc := msg.Get("reasoning_content").String(); rc != "" {
		r.Output = append(r.Output, reasoningItem{ID: NewID("rs_"), Type: "reasoning", Summary: []summaryPart{{Type: "summary_text", Text: rc}}})
	}
	if text := msg.Get("content").String(); text != "" {
		r.Output = append(r.Output, messageItem{ID: NewID("msg_"), Type: "message", Status: "completed", Role: "assistant",
			Content: []textPart{{Type: "output_text", Text: text, Annotations: []any{}, Logprobs: []any{}}}})
	}
	msg.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		r.Output = append(r.Output, functionCallItem{ID: NewID("fc_"), Type: "function_call", Status: "completed",
			CallID: tc.Get("id").String(), Name: tc.Get("function.name").String(), Arguments: tc.Get("function.arguments").String()})
		return true
	})
	finish(r, c.Get("choices.0.finish_reason").String())
	r.Usage = usageOf(c.Get("usage"))
	return json.Marshal(r)
}

// StreamWriter turns chat chunks into the Responses event sequence, each
// event numbered.
type StreamWriter struct {
	w      io.Writer
	in     *Request
	resp   *Response
	seq    int
	finish string
	// the open output item, if any
	kind      string // "message", "reasoning", "function_call"
	outIndex  int
	msg       *messageItem
	reasoning *reasoningItem
	calls     map[int64]*functionCallItem
	callIndex map[int64]int // tool call index → output index
	lastCall  int64
}

// NewStreamWriter writes events for a request to w.
func (in *Request) NewStreamWriter(w io.Writer) *StreamWriter {
	return &StreamWriter{w: w, in: in, calls: map[int64]*functionCallItem{}, callIndex: map[int64]int{}, lastCall: -1}
}

func (s *StreamWriter) event(typ string, fields map[string]any) error {
	fields["type"] = typ
	fields["sequence_number"] = s.seq
	s.seq++
	b, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	return sse.WriteEvent(s.w, typ, b)
}

func (s *StreamWriter) start(model string) error {
	if s.resp != nil {
		return nil
	}
	s.resp = s.in.base(model)
	if err := s.event("response.created", map[string]any{"response": s.resp}); err != nil {
		return err
	}
	return s.event("response.in_progress", map[string]any{"response": s.resp})
}

// closeItem finishes the open output item.
func (s *StreamWriter) closeItem() error {
	switch s.kind {
	case "message":
		m := s.msg
		text := m.Content[0].Text
		if err := s.event("response.output_text.done", map[string]any{"item_id": m.ID, "output_index": s.outIndex, "content_index": 0, "text": text, "logprobs": []any{}}); err != nil {
			return err
		}
		if err := s.event("response.content_part.done", map[string]any{"item_id": m.ID, "output_index": s.outIndex, "content_index": 0, "part": m.Content[0]}); err != nil {
			return err
		}
		m.Status = "completed"
		s.resp.Output = append(s.resp.Output, *m)
		if err := s.event("response.output_item.done", map[string]any{"output_index": s.outIndex, "item": m}); err != nil {
			return err
		}
	case "reasoning":
		r := s.reasoning
		if err := s.event("response.reasoning_summary_text.done", map[string]any{"item_id": r.ID, "output_index": s.outIndex, "summary_index": 0, "text": r.Summary[0].Text}); err != nil {
			return err
		}
		if err := s.event("response.reasoning_summary_part.done", map[string]any{"item_id": r.ID, "output_index": s.outIndex, "summary_index": 0, "part": r.Summary[0]}); err != nil {
			return err
		}
		s.resp.Output = append(s.resp.Output, *r)
		if err := s.event("response.output_item.done", map[string]any{"output_index": s.outIndex, "item": r}); err != nil {
			return err
		}
	case "function_call":
		fc := s.calls[s.lastCall]
		if err := s.event("response.function_call_arguments.done", map[string]any{"item_id": fc.ID, "output_index": s.outIndex, "arguments": fc.Arguments}); err != nil {
			return err
		}
		fc.Status = "completed"
		s.resp.Output = append(s.resp.Output, *fc)
		if err := s.event("response.output_item.done", map[string]any{"output_index": s.outIndex, "item": fc}); err != nil {
			return err
		}
	}
	s.kind = ""
	return nil
}

func (s *StreamWriter) open(kind string, item any) error {
	if err := s.closeItem(); err != nil {
		return err
	}
	s.kind = kind
	s.outIndex = len(s.resp.Output)
	return s.event("response.output_item.added", map[string]any{"output_index": s.outIndex, "item": item})
}

// Chunk translates one chat chunk.
func (s *StreamWriter) Chunk(data []byte) error {
	c := gjson.ParseBytes(data)
	if err := s.start(c.Get("model").String()); err != nil {
		return err
	}
	if u := c.Get("usage"); u.IsObject() {
		s.resp.Usage = usageOf(u)
	}
	d := c.Get("choices.0.delta")
	if r := d.Get("reasoning_content").String(); r != "" {
		if s.kind != "reasoning" {
			s.reasoning = &reasoningItem{ID: NewID("rs_"), Type: "reasoning", Summary: []summaryPart{}}
			if err := s.open("reasoning", s.reasoning); err != nil {
				return err
			}
			s.reasoning.Summary = []summaryPart{{Type: "summary_text"}}
			if err := s.event("response.reasoning_summary_part.added", map[string]any{"item_id": s.reasoning.ID, "output_index": s.outIndex, "summary_index": 0, "part": s.reasoning.Summary[0]}); err != nil {
				return err
			}
		}
		s.reasoning.Summary[0].Text += r
		if err := s.event("response.reasoning_summary_text.delta", map[string]any{"item_id": s.reasoning.ID, "output_index": s.outIndex, "summary_index": 0, "delta": r}); err != nil {
			return err
		}
	}
	if t := d.Get("content").String(); t != "" {
		if s.kind != "message" {
			s.msg = &messageItem{ID: NewID("msg_"), Type: "message", Status: "in_progress", Role: "assistant", Content: []textPart{}}
			if err := s.open("message", s.msg); err != nil {
				return err
			}
			s.msg.Content = []textPart{{Type: "output_text", Annotations: []any{}, Logprobs: []any{}}}
			if err := s.event("response.content_part.added", map[string]any{"item_id": s.msg.ID, "output_index": s.outIndex, "content_index": 0, "part": s.msg.Content[0]}); err != nil {
				return err
			}
		}
		s.msg.Content[0].Text += t
		if err := s.event("response.output_text.delta", map[string]any{"item_id": s.msg.ID, "output_index": s.outIndex, "content_index": 0, "delta": t, "logprobs": []any{}}); err != nil {
			return err
		}
	}
	var err error
	d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		k := tc.Get("index").Int()
		fc := s.calls[k]
		if fc == nil {
			fc = &functionCallItem{ID: NewID("fc_"), Type: "function_call", Status: "in_progress", CallID: tc.Get("id").String(), Name: tc.Get("function.name").String()}
			if err = s.open("function_call", fc); err != nil {
				return false
			}
			s.calls[k], s.callIndex[k], s.lastCall = fc, s.outIndex, k
		}
		if a := tc.Get("function.arguments").String(); a != "" {
			fc.Arguments += a
			err = s.event("response.function_call_arguments.delta", map[string]any{"item_id": fc.ID, "output_index": s.callIndex[k], "delta": a})
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if f := c.Get("choices.0.finish_reason"); f.Type == gjson.String {
		s.finish = f.Str
	}
	return nil
}

// Finish closes the stream with response.completed (or incomplete).
func (s *StreamWriter) Finish() error {
	if err := s.start(s.in.Model); err != nil {
		return err
	}
	if err := s.closeItem(); err != nil {
		return err
	}
	finish(s.resp, s.finish)
	typ := "response.completed"
	if s.resp.Status == "incomplete" {
		typ = "response.incomplete"
	}
	return s.event(typ, map[string]any{"response": s.resp})
}

// Fail ends a broken stream: an error event that SDKs raise.
func (s *StreamWriter) Fail(e *api.Error) error {
	code := e.Code
	if code == "" {
		code = e.Type
	}
	return s.event("error", map[string]any{"code": code, "message": e.Message, "param": nil,
		"error": map[string]string{"type": e.Type, "code": code, "message": e.Message}})
}
