package server

import (
	"io"
	"net/http"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/responses"
)

// responsesAPI serves OpenAI's Responses API (stateless) in front of any
// provider, translated to and from the internal chat shape.
func (s *Server) responsesAPI(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	chatBody, in, aerr := responses.ToChat(body)
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	s.serveChat(w, r, st, rec, chatBody, &responsesResponder{in: in, sw: in.NewStreamWriter(w)})
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
