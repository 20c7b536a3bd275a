package bedrock

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/switchboard-gw/switchboard/internal/api"
	br "github.com/switchboard-gw/switchboard/internal/api/bedrock"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

type toolBlock struct {
	index   int
	gotArgs bool
}

// stream decodes ConverseStream's event-stream frames into OpenAI chunks.
// Usage arrives in a metadata event that may follow messageStop, so the
// finish chunk is held until the stream ends and usage is known.
type stream struct {
	name         string
	model        string
	body         io.ReadCloser
	dec          *eventstream.Decoder
	buf          []byte
	includeUsage bool
	created      int64

	started  bool
	tools    map[int]*toolBlock
	nextTool int
	stop     string
	stopped  bool
	usage    *br.Usage
	queue    [][]byte
	done     bool
}

func newStream(body io.ReadCloser, name, model string, includeUsage bool, created int64) *stream {
	return &stream{name: name, model: model, body: body, dec: eventstream.NewDecoder(), buf: make([]byte, 0, 4096),
		includeUsage: includeUsage, created: created, tools: map[int]*toolBlock{}}
}

func (s *stream) Next() ([]byte, error) {
	for len(s.queue) == 0 {
		if s.done {
			return nil, io.EOF
		}
		msg, err := s.dec.Decode(s.body, s.buf)
		if errors.Is(err, io.EOF) {
			if !s.stopped {
				return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
					Message: "The upstream stream ended before messageStop (" + s.name + ")."}
			}
			f := finishReason(s.stop)
			s.emit(wire.Delta{}, &f)
			if s.includeUsage && s.usage != nil {
				u := openAIUsage(*s.usage)
				s.push(&wire.ChatChunk{Choices: []wire.ChunkChoice{}, Usage: &u})
			}
			s.done = true
			continue
		}
		if err != nil {
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
				Message: "The upstream stream broke before the response was complete (" + s.name + ").", Cause: err}
		}
		if err := s.handle(msg); err != nil {
			return nil, err
		}
	}
	c := s.queue[0]
	s.queue = s.queue[1:]
	return c, nil
}

func header(m eventstream.Message, name string) string {
	if v := m.Headers.Get(name); v != nil {
		return v.String()
	}
	return ""
}

func (s *stream) handle(m eventstream.Message) error {
	switch header(m, ":message-type") {
	case "exception":
		var body struct {
			Message string `json:"message"`
		}
		json.Unmarshal(m.Payload, &body)
		return br.Exception(header(m, ":exception-type"), body.Message, http.StatusBadGateway)
	case "error":
		return br.Exception(header(m, ":error-code"), header(m, ":error-message"), http.StatusBadGateway)
	}
	var ev br.StreamEvent
	if err := json.Unmarshal(m.Payload, &ev); err != nil {
		return &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + s.name + " sent an event Switchboard could not read.", Cause: err}
	}
	typ := header(m, ":event-type")
	if !s.started && typ != "metadata" {
		s.started = true
		empty := ""
		s.emit(wire.Delta{Role: "assistant", Content: &empty}, nil)
	}
	switch typ {
	case "contentBlockStart":
		if tu := ev.Start; tu != nil && tu.ToolUse != nil {
			t := &toolBlock{index: s.nextTool}
			s.nextTool++
			s.tools[ev.ContentBlockIndex] = t
			idx := t.index
			s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, ID: tu.ToolUse.ToolUseID, Type: "function",
				Function: wire.FunctionCall{Name: tu.ToolUse.Name, Arguments: ""}}}}, nil)
		}
	case "contentBlockDelta":
		d := ev.Delta
		if d == nil {
			return nil
		}
		switch {
		case d.Text != nil && *d.Text != "":
			s.emit(wire.Delta{Content: d.Text}, nil)
		case d.ToolUse != nil && d.ToolUse.Input != "":
			t := s.tools[ev.ContentBlockIndex]
			if t == nil {
				return nil
			}
			t.gotArgs = true
			idx := t.index
			s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, Function: wire.FunctionCall{Arguments: d.ToolUse.Input}}}}, nil)
		case d.ReasoningContent != nil && d.ReasoningContent.Text != nil && *d.ReasoningContent.Text != "":
			s.emit(wire.Delta{ReasoningContent: d.ReasoningContent.Text}, nil)
		}
	case "contentBlockStop":
		if t := s.tools[ev.ContentBlockIndex]; t != nil && !t.gotArgs {
			idx := t.index
			s.emit(wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, Function: wire.FunctionCall{Arguments: "{}"}}}}, nil)
		}
	case "messageStop":
		s.stop, s.stopped = ev.StopReason, true
	case "metadata":
		s.usage = ev.Usage
	}
	return nil
}

func (s *stream) emit(d wire.Delta, finish *string) {
	s.push(&wire.ChatChunk{Choices: []wire.ChunkChoice{{Delta: d, FinishReason: finish}}})
}

func (s *stream) push(c *wire.ChatChunk) {
	c.ID, c.Object, c.Created, c.Model = "chatcmpl-bedrock", "chat.completion.chunk", s.created, s.model
	if b, err := json.Marshal(c); err == nil {
		s.queue = append(s.queue, b)
	}
}

func (s *stream) Usage() provider.Usage {
	if s.usage == nil {
		return provider.Usage{}
	}
	return usageOf(*s.usage)
}

func (s *stream) Close() error { return s.body.Close() }
