package server

import (
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/anthropic"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// messages serves the Anthropic Messages API in front of any provider: the
// request is translated to the internal (OpenAI) shape, served by the
// model's deployments, and the answer translated back, streams included.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	chatBody, untranslated, aerr := anthropic.ToOpenAI(body)
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	pass := &passthrough{req: &provider.PassRequest{Format: provider.FormatMessages, Body: body, Header: anthropicHeaders(r.Header), Untranslated: untranslated}, out: rawAnthropic{}}
	s.serveChat(w, r, st, rec, chatBody, &anthropicResponder{sw: anthropic.NewStreamWriter(w)}, pass)
}

// anthropicHeaders keeps the client headers an Anthropic upstream should
// see on a pass-through (beta features).
func anthropicHeaders(h http.Header) http.Header {
	out := http.Header{}
	if v := h.Values("Anthropic-Beta"); len(v) > 0 {
		out["Anthropic-Beta"] = v
	}
	return out
}

// rawAnthropic relays an Anthropic upstream's own answer.
type rawAnthropic struct{}

func (rawAnthropic) JSON(body []byte) ([]byte, error) { return body, nil }
func (rawAnthropic) Chunk(w io.Writer, chunk []byte) error {
	return sse.WriteEvent(w, gjson.GetBytes(chunk, "type").String(), chunk)
}
func (rawAnthropic) Done(io.Writer) error { return nil }
func (rawAnthropic) Fail(w io.Writer, e *api.Error) error {
	return sse.WriteEvent(w, "error", anthropic.ErrorJSON(e))
}

// anthropicResponder answers in Anthropic's format.
type anthropicResponder struct{ sw *anthropic.StreamWriter }

func (a *anthropicResponder) JSON(body []byte) ([]byte, error)      { return anthropic.FromOpenAI(body) }
func (a *anthropicResponder) Chunk(_ io.Writer, chunk []byte) error { return a.sw.Chunk(chunk) }
func (a *anthropicResponder) Done(io.Writer) error                  { return a.sw.Finish() }
func (a *anthropicResponder) Fail(_ io.Writer, e *api.Error) error  { return a.sw.Fail(e) }
