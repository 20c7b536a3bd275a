package anthropic

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	ant "github.com/switchboard-gw/switchboard/internal/api/anthropic"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// FormatCountTokens is /v1/messages/count_tokens, passed through as is.
const FormatCountTokens = "count_tokens"

var _ provider.Passthrough = (*Client)(nil)

// Speaks: Anthropic takes Messages (and token counts) as clients send them.
func (c *Client) Speaks(format string) bool {
	return format == provider.FormatMessages || format == FormatCountTokens
}

// Pass forwards a Messages body with only the model rewritten, and relays
// the answer — stream events included — as Anthropic sent it.
func (c *Client) Pass(ctx context.Context, req *provider.PassRequest) (*provider.Response, error) {
	body, ok := wire.SetTopLevelString(req.Body, "model", req.Model)
	if !ok {
		return nil, api.BadRequest("model", "missing_required_parameter", "model: Field required")
	}
	u := c.url
	if req.Format == FormatCountTokens {
		u += "/count_tokens"
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	for k, v := range c.header {
		hreq.Header[k] = v
	}
	for k, v := range req.Header {
		hreq.Header[k] = v
	}
	if req.Stream {
		hreq.Header.Set("Accept", "text/event-stream")
	}
	resp, err := provider.Do(c.hc, hreq, c.name)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, provider.ReadError(resp, ant.ParseError)
	}
	out := &provider.Response{Header: resp.Header}
	if req.Stream {
		out.Stream = &rawStream{name: c.name, body: resp.Body, r: sse.NewReader(resp.Body)}
		return out, nil
	}
	out.Body, err = provider.ReadBody(ctx, resp, c.name)
	if err != nil {
		return nil, err
	}
	u2 := gjson.GetBytes(out.Body, "usage")
	out.Usage = usageOf(ant.Usage{InputTokens: u2.Get("input_tokens").Int(), OutputTokens: u2.Get("output_tokens").Int(),
		CacheReadInputTokens: u2.Get("cache_read_input_tokens").Int(), CacheCreationInputTokens: u2.Get("cache_creation_input_tokens").Int()})
	return out, nil
}

// rawStream relays Anthropic's events untouched, reading usage on the way.
type rawStream struct {
	name    string
	body    io.ReadCloser
	r       *sse.Reader
	usage   ant.Usage
	stopped bool
}

func (s *rawStream) Next() ([]byte, error) {
	if s.stopped {
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
				Message: "The upstream stream ended before message_stop (" + s.name + ").", Cause: cause}
		}
		if len(ev.Data) == 0 {
			continue
		}
		d := gjson.ParseBytes(ev.Data)
		switch d.Get("type").String() {
		case "message_start":
			u := d.Get("message.usage")
			s.usage = ant.Usage{InputTokens: u.Get("input_tokens").Int(), OutputTokens: u.Get("output_tokens").Int(),
				CacheReadInputTokens: u.Get("cache_read_input_tokens").Int(), CacheCreationInputTokens: u.Get("cache_creation_input_tokens").Int()}
		case "message_delta":
			if v := d.Get("usage.output_tokens"); v.Exists() {
				s.usage.OutputTokens = v.Int()
			}
			if v := d.Get("usage.input_tokens").Int(); v > 0 {
				s.usage.InputTokens = v
			}
		case "message_stop":
			s.stopped = true
		case "error":
			return nil, &api.Error{Status: ant.StatusForErrorType(d.Get("error.type").String()), Type: d.Get("error.type").String(),
				Message: d.Get("error.message").String()}
		}
		return ev.Data, nil
	}
}

func (s *rawStream) Usage() provider.Usage { return usageOf(s.usage) }

func (s *rawStream) Close() error { return s.body.Close() }
