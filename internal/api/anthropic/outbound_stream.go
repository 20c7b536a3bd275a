package anthropic

import (
	"encoding/json"
	"io"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// StreamWriter turns OpenAI chat chunks into Anthropic's event sequence:
// message_start, content_block_start/delta/stop per text, thinking or
// tool_use block, message_delta with the stop reason and usage, and
// message_stop.
type StreamWriter struct {
	w       io.Writer
	started bool
	open    bool   // a content block is open
	kind    string // its type
	index   int    // its index
	next    int    // the next block index
	tools   map[int64]int
	stop    string
	usage   Usage
	id      string
	model   string
}

// NewStreamWriter writes events to w.
func NewStreamWriter(w io.Writer) *StreamWriter {
	return &StreamWriter{w: w, tools: map[int64]int{}}
}

func (s *StreamWriter) event(typ string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return sse.WriteEvent(s.w, typ, b)
}

func (s *StreamWriter) start(chunk gjson.Result) error {
	if s.started {
		return nil
	}
	s.started = true
	s.id, s.model = chunk.Get("id").String(), chunk.Get("model").String()
	msg := Response{ID: s.id, Type: "message", Role: "assistant", Model: s.model, Content: []Block{}}
	return s.event("message_start", map[string]any{"type": "message_start", "message": msg})
}

func (s *StreamWriter) closeBlock() error {
	if !s.open {
		return nil
	}
	s.open = false
	return s.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": s.index})
}

func (s *StreamWriter) openBlock(kind string, block map[string]any) error {
	if err := s.closeBlock(); err != nil {
		return err
	}
	s.open, s.kind, s.index = true, kind, s.next
	s.next++
	return s.event("content_block_start", map[string]any{"type": "content_block_start", "index": s.index, "content_block": block})
}

func (s *StreamWriter) delta(index int, d map[string]any) error {
	return s.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": index, "delta": d})
}

// Chunk translates one OpenAI chunk.
func (s *StreamWriter) Chunk(data []byte) error {
	c := gjson.ParseBytes(data)
	if err := s.start(c); err != nil {
		return err
	}
	if u := c.Get("usage"); u.IsObject() {
		cached := u.Get("prompt_tokens_details.cached_tokens").Int()
		created := u.Get("prompt_tokens_details.cache_creation_tokens").Int()
		s.usage = Usage{InputTokens: max(0, u.Get("prompt_tokens").Int()-cached-created), OutputTokens: u.Get("completion_tokens").Int(),
			CacheReadInputTokens: cached, CacheCreationInputTokens: created}
	}
	choice := c.Get("choices.0")
	if !choice.Exists() {
		return nil
	}
	d := choice.Get("delta")
	if r := d.Get("reasoning_content"); r.Type == gjson.String && r.Str != "" {
		if !s.open || s.kind != "thinking" {
			if err := s.openBlock("thinking", map[string]any{"type": "thinking", "thinking": ""}); err != nil {
				return err
			}
		}
		if err := s.delta(s.index, map[string]any{"type": "thinking_delta", "thinking": r.Str}); err != nil {
			return err
		}
	}
	if t := d.Get("content"); t.Type == gjson.String && t.Str != "" {
		if !s.open || s.kind != "text" {
			if err := s.openBlock("text", map[string]any{"type": "text", "text": ""}); err != nil {
				return err
			}
		}
		if err := s.delta(s.index, map[string]any{"type": "text_delta", "text": t.Str}); err != nil {
			return err
		}
	}
	var err error
	d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		k := tc.Get("index").Int()
		idx, seen := s.tools[k]
		if !seen {
			if err = s.openBlock("tool_use", map[string]any{"type": "tool_use", "id": tc.Get("id").String(), "name": tc.Get("function.name").String(), "input": map[string]any{}}); err != nil {
				return false
			}
			idx = s.index
			s.tools[k] = idx
		}
		if args := tc.Get("function.arguments").String(); args != "" {
			err = s.delta(idx, map[string]any{"type": "input_json_delta", "partial_json": args})
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	if f := choice.Get("finish_reason"); f.Type == gjson.String {
		s.stop = StopReason(f.Str)
	}
	return nil
}

// Finish closes the message after the last chunk.
func (s *StreamWriter) Finish() error {
	if err := s.closeBlock(); err != nil {
		return err
	}
	if s.stop == "" {
		s.stop = "end_turn"
	}
	if err := s.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": s.stop, "stop_sequence": nil}, "usage": s.usage}); err != nil {
		return err
	}
	return s.event("message_stop", map[string]any{"type": "message_stop"})
}

// Fail ends the stream with an error event.
func (s *StreamWriter) Fail(e *api.Error) error {
	return sse.WriteEvent(s.w, "error", ErrorJSON(e))
}

// Usage is the usage reported so far.
func (s *StreamWriter) Usage() Usage { return s.usage }
