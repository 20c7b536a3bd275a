package server

import (
	"io"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/anthropic"
)

// messages serves the Anthropic Messages API in front of any provider: the
// request is translated to the internal (OpenAI) shape, served by the
// model's deployments, and the answer translated back, streams included.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	chatBody, aerr := anthropic.ToOpenAI(body)
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	s.serveChat(w, r, st, rec, chatBody, &anthropicResponder{sw: anthropic.NewStreamWriter(w)})
}

// anthropicResponder answers in Anthropic's format.
type anthropicResponder struct{ sw *anthropic.StreamWriter }

func (a *anthropicResponder) JSON(body []byte) ([]byte, error)      { return anthropic.FromOpenAI(body) }
func (a *anthropicResponder) Chunk(_ io.Writer, chunk []byte) error { return a.sw.Chunk(chunk) }
func (a *anthropicResponder) Done(io.Writer) error                  { return a.sw.Finish() }
func (a *anthropicResponder) Fail(_ io.Writer, e *api.Error) error  { return a.sw.Fail(e) }
