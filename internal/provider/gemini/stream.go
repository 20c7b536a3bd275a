package gemini

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api"
	gem "github.com/switchboard-gw/switchboard/internal/api/gemini"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// candidateState follows one candidate through a stream.
type candidateState struct {
	started  bool
	tools    int
	finished bool
	partial  *partialCall // a call whose arguments are still streaming
}

type partialCall struct {
	index int
	args  map[string]any
}

// stream turns Gemini's SSE chunks (no [DONE]; the finishReason chunk is
// the last) into OpenAI chunks.
type stream struct {
	name         string
	model        string
	body         io.ReadCloser
	r            *sse.Reader
	includeUsage bool
	created      int64
	id           string
	respModel    string
	usage        *gem.UsageMetadata
	cands        map[int]*candidateState
	queue        [][]byte
	done         bool
}

func newStream(body io.ReadCloser, name, model string, includeUsage bool, created int64) *stream {
	return &stream{name: name, model: model, body: body, r: sse.NewReader(body), includeUsage: includeUsage,
		created: created, cands: map[int]*candidateState{}}
}

func (s *stream) Next() ([]byte, error) {
	for len(s.queue) == 0 {
		if s.done {
			return nil, io.EOF
		}
		ev, err := s.r.Next()
		if err == io.EOF {
			if !s.anyFinished() {
				return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
					Message: "The upstream stream ended before a finish reason (" + s.name + ")."}
			}
			for ci, c := range s.cands {
				s.flushPartial(ci, c)
			}
			if s.includeUsage && s.usage != nil {
				s.push(&wire.ChatChunk{Choices: []wire.ChunkChoice{}, Usage: openAIUsage(s.usage)})
			}
			s.done = true
			continue
		}
		if err != nil {
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
				Message: "The upstream stream broke before the response was complete (" + s.name + ").", Cause: err}
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

func (s *stream) anyFinished() bool {
	for _, c := range s.cands {
		if c.finished {
			return true
		}
	}
	return false
}

func (s *stream) handle(data []byte) error {
	var r gem.Response
	if err := json.Unmarshal(data, &r); err != nil {
		return &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
			Message: "The upstream provider " + s.name + " sent a chunk Switchboard could not read.", Cause: err}
	}
	if e := parseStreamError(data); e != nil {
		return e
	}
	if s.id == "" {
		s.id = r.ResponseID
	}
	if r.ModelVersion != "" {
		s.respModel = r.ModelVersion
	}
	if r.UsageMetadata != nil && (r.UsageMetadata.PromptTokenCount > 0 || r.UsageMetadata.TotalTokenCount > 0) {
		s.usage = r.UsageMetadata
	}
	if len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		c := s.cand(0)
		empty := ""
		s.emit(0, wire.Delta{Role: "assistant", Content: &empty}, nil)
		f := "content_filter"
		s.emit(0, wire.Delta{}, &f)
		c.finished = true
		return nil
	}
	for _, cand := range r.Candidates {
		ci := cand.Index
		c := s.cand(ci)
		if !c.started {
			c.started = true
			empty := ""
			s.emit(ci, wire.Delta{Role: "assistant", Content: &empty}, nil)
		}
		for _, p := range cand.Content.Parts {
			switch {
			case p.FunctionCall != nil:
				s.functionCall(ci, c, p)
			case p.Text != "" && p.Thought:
				t := p.Text
				s.emit(ci, wire.Delta{ReasoningContent: &t}, nil)
			case p.Text != "":
				t := p.Text
				s.emit(ci, wire.Delta{Content: &t}, nil)
			}
		}
		if cand.FinishReason != "" && !c.finished {
			s.flushPartial(ci, c)
			c.finished = true
			f := finishReason(cand.FinishReason, c.tools > 0)
			s.emit(ci, wire.Delta{}, &f)
		}
	}
	return nil
}

func (s *stream) cand(i int) *candidateState {
	c := s.cands[i]
	if c == nil {
		c = &candidateState{}
		s.cands[i] = c
	}
	return c
}

// functionCall handles whole calls (the usual case) and calls whose
// arguments stream as partialArgs (Vertex's streamFunctionCallArguments).
func (s *stream) functionCall(ci int, c *candidateState, p gem.Part) {
	fc := p.FunctionCall
	if fc.Name != "" {
		s.flushPartial(ci, c)
		idx := c.tools
		c.tools++
		id := fc.ID
		if id == "" {
			id = callID(s.id, ci, idx, fc.Name)
		}
		head := wire.ToolCall{Index: &idx, ID: id, Type: "function", Function: wire.FunctionCall{Name: fc.Name}, ExtraContent: extraContent(p.ThoughtSignature)}
		if fc.WillContinue && len(fc.Args) == 0 {
			c.partial = &partialCall{index: idx, args: map[string]any{}}
			s.emit(ci, wire.Delta{ToolCalls: []wire.ToolCall{head}}, nil)
			return
		}
		head.Function.Arguments = compactArgs(fc.Args)
		s.emit(ci, wire.Delta{ToolCalls: []wire.ToolCall{head}}, nil)
		return
	}
	if c.partial == nil {
		return
	}
	for _, pa := range fc.PartialArgs {
		c.partial.set(pa)
	}
	if len(fc.PartialArgs) == 0 && !fc.WillContinue {
		s.flushPartial(ci, c) // the empty functionCall that ends streamed arguments
	}
}

func (s *stream) flushPartial(ci int, c *candidateState) {
	if c.partial == nil {
		return
	}
	idx := c.partial.index
	b, _ := json.Marshal(c.partial.args)
	c.partial = nil
	s.emit(ci, wire.Delta{ToolCalls: []wire.ToolCall{{Index: &idx, Function: wire.FunctionCall{Arguments: string(b)}}}}, nil)
}

// set applies one streamed argument value at its JSON path; string pieces
// of one value are concatenated.
func (p *partialCall) set(pa gem.PartialArg) {
	var val any
	switch {
	case pa.StringValue != nil:
		val = *pa.StringValue
	case pa.NumberValue != nil:
		val = *pa.NumberValue
	case pa.BoolValue != nil:
		val = *pa.BoolValue
	default:
		val = nil
	}
	segs := pathSegments(pa.JSONPath)
	if len(segs) == 0 {
		return
	}
	var cur any = p.args
	for i, seg := range segs {
		last := i == len(segs)-1
		switch node := cur.(type) {
		case map[string]any:
			if last {
				if prev, ok := node[seg].(string); ok {
					if s, ok := val.(string); ok {
						val = prev + s
					}
				}
				node[seg] = val
				return
			}
			next, ok := node[seg]
			if !ok {
				next = map[string]any{}
				node[seg] = next
			}
			cur = next
		default:
			return // array paths beyond the top level are kept as given
		}
	}
}

// pathSegments splits "$.a.b" into ["a","b"].
func pathSegments(path string) []string {
	path = strings.TrimPrefix(path, "$")
	var out []string
	for _, seg := range strings.Split(path, ".") {
		if seg == "" {
			continue
		}
		if i := strings.IndexByte(seg, '['); i >= 0 {
			seg = seg[:i] // arrays: keep the field, values join the same key
		}
		out = append(out, seg)
	}
	return out
}

func (s *stream) emit(ci int, d wire.Delta, finish *string) {
	s.push(&wire.ChatChunk{Choices: []wire.ChunkChoice{{Index: ci, Delta: d, FinishReason: finish}}})
}

func (s *stream) push(c *wire.ChatChunk) {
	c.ID, c.Object, c.Created, c.Model = s.id, "chat.completion.chunk", s.created, s.respModel
	if c.ID == "" {
		c.ID = "chatcmpl-gemini"
	}
	if c.Model == "" {
		c.Model = s.model
	}
	b, err := json.Marshal(c)
	if err == nil {
		s.queue = append(s.queue, b)
	}
}

func (s *stream) Usage() provider.Usage { return usageOf(s.usage) }

func (s *stream) Close() error { return s.body.Close() }
