package anthropic

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// ParseError reads an Anthropic error body, keeping status and message.
func ParseError(status int, body []byte) *api.Error {
	e := &api.Error{Status: status, Type: api.TypeForStatus(status)}
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Message != "" {
		e.Message = eb.Error.Message
		if eb.Error.Type != "" {
			e.Type = eb.Error.Type
		}
	} else {
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

// StatusForErrorType maps an error type sent inside a stream to a status.
func StatusForErrorType(t string) int {
	switch t {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "overloaded_error":
		return 529
	case "timeout_error":
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

// ErrorJSON renders e as Anthropic's error body.
func ErrorJSON(e *api.Error) []byte {
	t := e.Type
	switch e.Status {
	case http.StatusBadRequest:
		t = "invalid_request_error"
	case http.StatusUnauthorized:
		t = "authentication_error"
	case http.StatusForbidden:
		t = "permission_error"
	case http.StatusNotFound:
		t = "not_found_error"
	case http.StatusRequestEntityTooLarge:
		t = "request_too_large"
	case http.StatusTooManyRequests:
		t = "rate_limit_error"
	case 529, http.StatusServiceUnavailable:
		t = "overloaded_error"
	case http.StatusGatewayTimeout:
		t = "timeout_error"
	default:
		if e.Status >= 500 {
			t = "api_error"
		}
	}
	b, _ := json.Marshal(ErrorBody{Type: "error", Error: ErrorDetail{Type: t, Message: e.Message}})
	return b
}
