package mock

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/api/responses"
)

// openaiResponses serves OpenAI's Responses API: the request is planned as
// the equivalent chat request, and the answer written as a Response object
// or the Responses event stream.
func (s *Server) openaiResponses(w http.ResponseWriter, r *http.Request) {
	body, err := s.read(r)
	if err != nil {
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeJSONError(w, http.StatusUnauthorized, `{"error":{"message":"You didn't provide an API key.","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	chat, in, aerr := responses.ToChat(body)
	if aerr != nil {
		writeJSONError(w, aerr.Status, string(openai.ErrorJSON(aerr)))
		return
	}
	inner, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, "/v1/chat/completions", bytes.NewReader(chat))
	inner.Header = r.Header.Clone()
	rec := httptest.NewRecorder()
	s.openaiChatBody(rec, inner, chat)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	if !in.Stream {
		out, err := in.FromChat(rec.Body.Bytes())
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, `{"error":{"message":"mock failed","type":"server_error"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	sw := in.NewStreamWriter(w)
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		if strings.HasPrefix(data, `{"error"`) {
			io.WriteString(w, "event: error\ndata: "+data+"\n\n")
			return
		}
		sw.Chunk([]byte(data))
	}
	sw.Finish()
}
