package openai

import (
	"bytes"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// passStream hands upstream chunks through untouched, reading usage on the
// way and dropping the usage-only chunk the client did not ask for.
type passStream struct {
	name       string
	body       io.ReadCloser
	r          *sse.Reader
	stripUsage bool
	usage      provider.Usage
	finished   bool // a finish_reason was seen
}

func newPassStream(resp *http.Response, name string, stripUsage bool) *passStream {
	return &passStream{name: name, body: resp.Body, r: sse.NewReader(resp.Body), stripUsage: stripUsage}
}

var (
	usageKey  = []byte(`"usage":{`)
	finishKey = []byte(`"finish_reason":"`)
	errorKey  = []byte(`"error"`)
)

func (s *passStream) Next() ([]byte, error) {
	for {
		ev, err := s.r.Next()
		if err == io.EOF {
			if s.finished {
				return nil, io.EOF // some servers omit [DONE] after a complete answer
			}
			return nil, s.broken("The upstream stream ended before the response was complete.", nil)
		}
		if err != nil {
			return nil, s.broken("The upstream stream broke before the response was complete.", err)
		}
		data := ev.Data
		if len(data) == 0 {
			continue
		}
		if bytes.Equal(data, sse.Done) {
			return nil, io.EOF
		}
		if bytes.Contains(data, errorKey) {
			if e := gjson.GetBytes(data, "error"); e.Exists() {
				ae := wire.ParseError(http.StatusBadGateway, data)
				ae.Status = http.StatusBadGateway
				return nil, ae
			}
		}
		if bytes.Contains(data, finishKey) {
			s.finished = true
		}
		if bytes.Contains(data, usageKey) {
			if u := gjson.GetBytes(data, "usage"); u.IsObject() {
				s.usage = UsageOf(u)
				if s.stripUsage && isUsageOnly(data) {
					continue
				}
			}
		}
		return data, nil
	}
}

// isUsageOnly reports a chunk with no choices, which exists only to carry
// usage.
func isUsageOnly(data []byte) bool {
	c := gjson.GetBytes(data, "choices")
	return !c.Exists() || (c.IsArray() && !c.Get("0").Exists())
}

func (s *passStream) broken(msg string, cause error) error {
	return &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_stream_broken",
		Message: msg + " (" + s.name + ")", Cause: cause}
}

func (s *passStream) Usage() provider.Usage { return s.usage }

func (s *passStream) Close() error { return s.body.Close() }
