package bedrock

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// exceptionStatus maps Bedrock's exception names to HTTP statuses.
var exceptionStatus = map[string]int{
	"ThrottlingException":           http.StatusTooManyRequests,
	"ServiceQuotaExceededException": http.StatusTooManyRequests,
	"ModelNotReadyException":        http.StatusServiceUnavailable,
	"ValidationException":           http.StatusBadRequest,
	"AccessDeniedException":         http.StatusForbidden,
	"UnrecognizedClientException":   http.StatusUnauthorized,
	"ResourceNotFoundException":     http.StatusNotFound,
	"ModelTimeoutException":         http.StatusGatewayTimeout,
	"ModelStreamErrorException":     http.StatusBadGateway,
	"ModelErrorException":           http.StatusBadGateway,
	"ServiceUnavailableException":   http.StatusServiceUnavailable,
	"InternalServerException":       http.StatusInternalServerError,
}

// ExceptionName normalises "throttlingException" or
// "com.amazon...#ThrottlingException:..." to "ThrottlingException".
func ExceptionName(s string) string {
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// Exception builds the gateway error for a named exception.
func Exception(name, message string, fallback int) *api.Error {
	name = ExceptionName(name)
	status, ok := exceptionStatus[name]
	if !ok {
		status = fallback
	}
	if message == "" {
		message = name
	}
	e := &api.Error{Status: status, Type: api.TypeForStatus(status), Code: name, Message: message}
	return e
}

// ParseError reads an error response: the exception name is in the
// x-amzn-ErrorType header (passed as name) or the body's __type.
func ParseError(status int, name string, body []byte) *api.Error {
	var eb struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
		Type     string `json:"__type"`
	}
	json.Unmarshal(body, &eb)
	if name == "" {
		name = eb.Type
	}
	msg := eb.Message
	if msg == "" {
		msg = eb.Message2
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	if name == "" {
		return &api.Error{Status: status, Type: api.TypeForStatus(status), Message: msg}
	}
	return Exception(name, msg, status)
}
