package provider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
)

// NewHTTPClient returns the client every provider shares: pooled keep-alive
// connections sized for a gateway, a dial timeout, and no overall timeout
// (deadlines come from each request's context so long streams are not cut).
func NewHTTPClient(connectTimeout time.Duration) *http.Client {
	if connectTimeout <= 0 {
		connectTimeout = 10 * time.Second
	}
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   connectTimeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// The default 4 KiB buffers: every open stream holds one pair, and
		// reads or writes larger than a buffer bypass it anyway.
	}
	return &http.Client{Transport: t}
}

// MaxErrorBody bounds how much of an upstream error body is read.
const MaxErrorBody = 1 << 20

// MaxResponseBody bounds a non-streaming upstream response.
const MaxResponseBody = 256 << 20

// Do sends req and turns transport failures into gateway errors: a
// deadline is a 504, a cancelled client a 499, anything else a 502. It
// goes straight to the client's transport: an API call has no cookies and
// no redirects to follow (a 3xx is an upstream error like any other), and
// http.Client.Do would copy the headers for them on every request.
func Do(hc *http.Client, req *http.Request, name string) (*http.Response, error) {
	var resp *http.Response
	var err error
	if hc.Transport != nil && hc.Jar == nil && hc.Timeout == 0 {
		resp, err = hc.Transport.RoundTrip(req)
	} else {
		resp, err = hc.Do(req)
	}
	if err != nil {
		return nil, TransportError(req.Context(), name, err)
	}
	return resp, nil
}

// StatusClientClosed is nginx's code for a client that went away.
const StatusClientClosed = 499

// TransportError classifies an error from talking to an upstream.
func TransportError(ctx context.Context, name string, err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &api.Error{Status: http.StatusGatewayTimeout, Type: api.TypeTimeout, Code: "upstream_timeout",
			Message: "The upstream provider " + name + " did not answer in time.", Cause: err}
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return &api.Error{Status: StatusClientClosed, Type: api.TypeInvalidRequest, Code: "client_closed",
			Message: "The client closed the request.", Cause: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &api.Error{Status: http.StatusGatewayTimeout, Type: api.TypeTimeout, Code: "upstream_timeout",
			Message: "The upstream provider " + name + " timed out.", Cause: err}
	}
	return &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "upstream_unreachable",
		Message: "Could not reach the upstream provider " + name + ".", Cause: err}
}

// ReadError reads an upstream error response and lets parse shape it; it
// adds Retry-After and prefixes nothing, so the upstream's message reaches
// the client as written.
func ReadError(resp *http.Response, parse func(status int, body []byte) *api.Error) *api.Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	resp.Body.Close()
	e := parse(resp.StatusCode, body)
	if e.RetryAfter == 0 {
		e.RetryAfter = RetryAfter(resp.Header)
	}
	return e
}

// RetryAfter reads Retry-After (seconds or an HTTP date) and OpenAI's
// retry-after-ms.
func RetryAfter(h http.Header) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// ReadBody reads a whole successful response body.
func ReadBody(ctx context.Context, resp *http.Response, name string) ([]byte, error) {
	defer resp.Body.Close()
	var b []byte
	var err error
	if n := resp.ContentLength; n > 0 && n < MaxResponseBody {
		// The length is known and within bounds: one exact read.
		b = make([]byte, n)
		_, err = io.ReadFull(resp.Body, b)
	} else {
		b, err = readAll(io.LimitReader(resp.Body, MaxResponseBody), nil)
	}
	if err != nil {
		return nil, TransportError(ctx, name, err)
	}
	return b, nil
}

func readAll(r io.Reader, b []byte) ([]byte, error) {
	if b == nil {
		b = make([]byte, 0, 4096)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				return b, nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// IsRateLimitHeader reports an upstream's x-ratelimit-* header, which
// passes on to the client.
func IsRateLimitHeader(name string) bool {
	const prefix = "x-ratelimit-"
	return len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix)
}
