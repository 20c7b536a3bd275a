package server

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/responses"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/sse"
)

// responsesAPI serves OpenAI's Responses API (stateless) in front of any
// provider, translated to and from the internal chat shape.
func (s *Server) responsesAPI(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	chatBody, in, aerr := responses.ToChat(body)
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	pass := &passthrough{req: &provider.PassRequest{Format: provider.FormatResponses, Body: body}, out: rawResponses{}}
	s.serveChat(w, r, st, rec, chatBody, &responsesResponder{in: in, sw: in.NewStreamWriter(w)}, pass)
}

// rawResponses relays an OpenAI upstream's own Responses answer.
type rawResponses struct{}

func (rawResponses) JSON(body []byte) ([]byte, error) { return body, nil }
func (rawResponses) Chunk(w io.Writer, chunk []byte) error {
	return sse.WriteEvent(w, gjson.GetBytes(chunk, "type").String(), chunk)
}
func (rawResponses) Done(io.Writer) error { return nil }
func (rawResponses) Fail(w io.Writer, e *api.Error) error {
	code := e.Code
	if code == "" {
		code = e.Type
	}
	b, _ := json.Marshal(map[string]any{"type": "error", "code": code, "message": e.Message, "param": nil,
		"error": map[string]string{"type": e.Type, "code": code, "message": e.Message}})
	return sse.WriteEvent(w, "error", b)
}

// responsesResponder answers in the Responses format.
type responsesResponder struct {
	in *responses.Request
	sw *responses.StreamWriter
}

func (a *responsesResponder) JSON(body []byte) ([]byte, error)      { return a.in.FromChat(body) }
func (a *responsesResponder) Chunk(_ io.Writer, chunk []byte) error { return a.sw.Chunk(chunk) }
func (a *responsesResponder) Done(io.Writer) error                  { return a.sw.Finish() }
func (a *responsesResponder) Fail(_ io.Writer, e *api.Error) error  { return a.sw.Fail(e) }
