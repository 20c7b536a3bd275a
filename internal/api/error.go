// Package api holds what every inbound format shares: the gateway's error
// type, which each format renders in its own body shape.
package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is an HTTP error with a public message and a private cause. Its Type
// and Code use OpenAI's vocabulary; other formats map them to their own.
type Error struct {
	Status  int
	Type    string // e.g. invalid_request_error
	Code    string // e.g. model_not_found; may be empty
	Param   string // the offending request field, if any
	Message string // safe to show the client
	// RetryAfter, when positive, is sent as a Retry-After header.
	RetryAfter time.Duration
	// Cause is logged, never shown.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.Status, e.Type, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Error types, in OpenAI's vocabulary.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeNotFound       = "not_found_error"
	TypeRateLimit      = "rate_limit_error"
	TypeUpstream       = "upstream_error"
	TypeTimeout        = "timeout_error"
	TypeServer         = "api_error"
	TypeOverloaded     = "overloaded_error"
)

// BadRequest is a 400 naming the offending parameter.
func BadRequest(param, code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Unauthorized is a 401.
func Unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Type: TypeAuthentication, Code: "invalid_api_key", Message: msg}
}

// ModelNotFound is a 404 for a model name no route serves.
func ModelNotFound(model string) *Error {
	return &Error{Status: http.StatusNotFound, Type: TypeInvalidRequest, Code: "model_not_found", Param: "model",
		Message: fmt.Sprintf("The model %q does not exist or you do not have access to it.", model)}
}

// TooLarge is a 413 for a body over the limit.
func TooLarge(limit int64) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Type: TypeInvalidRequest, Code: "request_too_large",
		Message: fmt.Sprintf("Request body is larger than the limit of %d bytes.", limit)}
}

// As returns err as an *Error, wrapping anything else as a 500.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Status: http.StatusInternalServerError, Type: TypeServer, Message: "Internal error.", Cause: err}
}

// TypeForStatus picks the error type for a status when an upstream did not
// say one we recognise.
func TypeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return TypeAuthentication
	case status == http.StatusForbidden:
		return TypePermission
	case status == http.StatusNotFound:
		return TypeNotFound
	case status == http.StatusTooManyRequests:
		return TypeRateLimit
	case status == http.StatusGatewayTimeout || status == http.StatusRequestTimeout:
		return TypeTimeout
	case status == 529 || status == http.StatusServiceUnavailable:
		return TypeOverloaded
	case status >= 500:
		return TypeServer
	default:
		return TypeInvalidRequest
	}
}
