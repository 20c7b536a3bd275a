package anthropic

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/api"
	ant "github.com/switchboard-gw/switchboard/internal/api/anthropic"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

type blockKind uint8

const (
	blockText blockKind = iota
	blockThinking
	blockTool
	blockJSON // the forced response_format tool: its input is the content
	blockOther
)

type blockState struct {
	kind      blockKind
	toolIndex int
	gotArgs   bool
}

// stream turns Anthropic's event sequence into OpenAI chunks.
type stream struct {
	name         string
	body         io.ReadCloser
	r            *sse.Reader
	tr           translation
	includeUsage bool

	id, model string
	created   int64
	usage     ant.Usage
	blocks    map[int]*blockState
	nextTool  int
	stopped   bool // message_stop seen
	queue     [][]byte
	finish    string
}

func newStream(body io.ReadCloser, name string, tr translation, includeUsage bool, created int64) *stream {
	return &stream{name: name, body: body, r: sse.NewReader(body), tr: tr, includeUsage: includeUsage,
		created: created, blocks: map[int]*blockState{}}
}

// Next returns the next OpenAI chunk.
func (s *stream) Next() ([]byte, error) {
	for len(s.queue) == 0 {
		if s.stopped {
			return nil, io.EOF
		}
		ev, err := s.r.Next()
		if err != nil {
			msg := "The upstream stream broke before the response was complete."
			if err == io.EOF {
				msg = "The upstream stream ended before message_stop."
				err = nil
			}
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
				Message: msg + " (" + s.name + ")", Cause: err}
		}
		if len(ev.Data) == 0 {
			continue
		}
		if err := s.handle(ev.Data); err != nil {
			return nil, err
		}
	}
	c := s.queue[0]
	s.queue = s.queue[1:]
	return c, nil
}

func (s *stream) handle(data []byte) error {
	var ev ant.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + s.name + " sent an event Switchboard could not read.", Cause: err}
	}
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			s.id, s.model = ev.Message.ID, ev.Message.Model
			s.usage = ev.Message.Usage
		}
		empty := ""
		s.emit(wire.Delta{Role: "assistant", Content: &empty}, nil)
	case "content_block_start":
		b := &blockState{kind: blockOther}
		if cb := ev.ContentBlock; cb != nil {
			switch cb.Type {
			case "text":
				b.kind = blockText
				if cb.Text != "" {
					t := cb.Text
					s.emit(wire.Delta{Content: &t}, nil)
				}
			case "thinking":
				b.kind = blockThinking
			case "tool_use":
				if s.tr.jsonTool && cb.Name == jsonToolName {
					b.kind = blockJSON
					break
				}
				b.kind = blockTool
				b.toolIndex = s.nextTool
				s.nextTool++
				idx := b.toolIndex
				s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, ID: cb.ID, Type: "function",
					Function: wire.FunctionCall{Name: cb.Name, Arguments: ""}}}}, nil)
			}
		}
		s.blocks[ev.Index] = b
	case "content_block_delta":
		b := s.blocks[ev.Index]
		if b == nil || ev.Delta == nil {
			return nil
		}
		d := ev.Delta
		switch d.Type {
		case "text_delta":
			t := d.Text
			s.emit(wire.Delta{Content: &t}, nil)
		case "thinking_delta":
			t := d.Thinking
			s.emit(wire.Delta{ReasoningContent: &t}, nil)
		case "input_json_delta":
			if d.PartialJSON == "" {
				return nil
			}
			b.gotArgs = true
			s.emitArgs(b, d.PartialJSON)
		}
	case "content_block_stop":
		if b := s.blocks[ev.Index]; b != nil && !b.gotArgs && (b.kind == blockTool || b.kind == blockJSON) {
			s.emitArgs(b, "{}") // a tool called without arguments
		}
	case "message_delta":
		if ev.Usage != nil {
			s.usage.OutputTokens = ev.Usage.OutputTokens
			if ev.Usage.InputTokens > 0 {
				s.usage.InputTokens = ev.Usage.InputTokens
			}
			if ev.Usage.CacheReadInputTokens > 0 {
				s.usage.CacheReadInputTokens = ev.Usage.CacheReadInputTokens
			}
			if ev.Usage.CacheCreationInputTokens > 0 {
				s.usage.CacheCreationInputTokens = ev.Usage.CacheCreationInputTokens
			}
		}
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			f := finishReason(ev.Delta.StopReason)
			if s.tr.jsonTool && f == "tool_calls" && s.nextTool == 0 {
				f = "stop"
			}
			s.finish = f
			s.emit(wire.Delta{}, &f)
		}
	case "message_stop":
		if s.finish == "" {
			f := "stop"
			s.finish = f
			s.emit(wire.Delta{}, &f)
		}
		if s.includeUsage {
			u := openAIUsage(s.usage)
			s.push(&wire.ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model, Choices: []wire.ChunkChoice{}, Usage: &u})
		}
		s.stopped = true
	case "error":
		e := &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Message: "The upstream provider " + s.name + " reported an error mid-stream."}
		if ev.Error != nil {
			e.Status = ant.StatusForErrorType(ev.Error.Type)
			e.Type = ev.Error.Type
			if ev.Error.Message != "" {
				e.Message = ev.Error.Message
			}
		}
		return e
	}
	return nil
}

func (s *stream) emitArgs(b *blockState, args string) {
	if b.kind == blockJSON {
		s.emit(wire.Delta{Content: &args}, nil)
		return
	}
	idx := b.toolIndex
	s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, Function: wire.FunctionCall{Arguments: args}}}}, nil)
}

func (s *stream) emit(d wire.Delta, finish *string) {
	s.push(&wire.ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.model,
		Choices: []wire.ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}})
}

func (s *stream) push(c *wire.ChatChunk) {
	b, err := json.Marshal(c)
	if err != nil {
		return // the chunk types always marshal
	}
	s.queue = append(s.queue, b)
}

func (s *stream) Usage() provider.Usage { return usageOf(s.usage) }

func (s *stream) Close() error { return s.body.Close() }
