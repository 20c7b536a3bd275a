package openai

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// ErrorJSON renders e as OpenAI's error body.
func ErrorJSON(e *api.Error) []byte {
	body := ErrorBody{Error: ErrorDetail{Message: e.Message, Type: e.Type}}
	if e.Param != "" {
		body.Error.Param = &e.Param
	}
	if e.Code != "" {
		body.Error.Code = &e.Code
	}
	b, _ := json.Marshal(body)
	return b
}

// ParseError reads an upstream error in OpenAI's shape (also used by Azure
// and every OpenAI-compatible server), keeping the upstream's status and
// message. Bodies that are not OpenAI errors keep their text, trimmed.
func ParseError(status int, body []byte) *api.Error {
	e := &api.Error{Status: status, Type: api.TypeForStatus(status)}
	if gjson.ValidBytes(body) {
		detail := gjson.GetBytes(body, "error")
		if detail.IsObject() {
			e.Message = detail.Get("message").String()
			if t := detail.Get("type").String(); t != "" {
				e.Type = t
			}
			e.Code = detail.Get("code").String()
			e.Param = detail.Get("param").String()
		} else if detail.Type == gjson.String {
			e.Message = detail.Str // {"error": "..."} as vLLM and Ollama send
		} else if m := gjson.GetBytes(body, "message"); m.Type == gjson.String {
			e.Message = m.Str
		}
	}
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 512 {
			e.Message = e.Message[:512]
		}
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	return e
}
