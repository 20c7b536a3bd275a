package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

var _ provider.Passthrough = (*Client)(nil)

// Speaks: OpenAI itself takes Responses requests as clients send them.
func (c *Client) Speaks(format string) bool {
	return format == provider.FormatResponses && c.responses
}

// Pass forwards a Responses body with only the model rewritten and relays
// the answer as OpenAI sent it.
func (c *Client) Pass(ctx context.Context, req *provider.PassRequest) (*provider.Response, error) {
	body, ok := wire.SetTopLevelString(req.Body, "model", req.Model)
	if !ok {
		return nil, api.BadRequest("model", "missing_required_parameter", "You must provide a model parameter.")
	}
	resp, err := c.post(ctx, c.base+"/responses", body, req.Stream)
	if err != nil {
		return nil, err
	}
	out := &provider.Response{Header: resp.Header}
	if req.Stream {
		out.Stream = &responsesStream{name: c.name, body: resp.Body, r: sse.NewReader(resp.Body)}
		return out, nil
	}
	out.Body, err = provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	out.Usage = responsesUsage(gjson.GetBytes(out.Body, "usage"))
	return out, nil
}

func responsesUsage(u gjson.Result) provider.Usage {
	return provider.Usage{Input: u.Get("input_tokens").Int(), Output: u.Get("output_tokens").Int(),
		CacheRead: u.Get("input_tokens_details.cached_tokens").Int(), Reasoning: u.Get("output_tokens_details.reasoning_tokens").Int()}
}

// responsesStream relays Responses events until a terminal one.
type responsesStream struct {
	name  string
	body  io.ReadCloser
	r     *sse.Reader
	usage provider.Usage
	done  bool
}

func (s *responsesStream) Next() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	for {
		ev, err := s.r.Next()
		if err != nil {
			var cause error
			if err != io.EOF {
				cause = err
			}
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
				Message: "The upstream stream ended before the response completed (" + s.name + ").", Cause: cause}
		}
		if len(ev.Data) == 0 || bytes.Equal(ev.Data, sse.Done) {
			continue
		}
		d := gjson.ParseBytes(ev.Data)
		switch d.Get("type").String() {
		case "response.completed", "response.incomplete", "response.failed":
			s.usage = responsesUsage(d.Get("response.usage"))
			s.done = true
		case "error":
			return nil, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: d.Get("code").String(), Message: d.Get("message").String()}
		}
		return ev.Data, nil
	}
}

func (s *responsesStream) Usage() provider.Usage { return s.usage }

func (s *responsesStream) Close() error { return s.body.Close() }
