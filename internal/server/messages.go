package server

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/anthropic"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// messages serves the Anthropic Messages API in front of any provider: the
// request is translated to the internal (OpenAI) shape, served by the
// model's deployments, and the answer translated back, streams included.
func (s *Server) messages(w http.ResponseWriter, r *http.Request, st *reqState) {
	rec := &Record{RequestID: st.id, Endpoint: "messages"}
	defer func() {
		rec.Latency = time.Since(st.start)
		s.record(rec)
	}()
	body, release, aerr := s.readBody(w, r)
	defer release()
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	chatBody, aerr := anthropic.ToOpenAI(body)
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	f, aerr := openai.ScanChat(chatBody)
	rec.Model, rec.Stream = f.Model, f.Stream
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	group, rest, ok := s.gw.Router.Resolve(f.Model)
	if !ok {
		s.fail(w, st, rec, api.ModelNotFound(f.Model))
		return
	}
	ctx, cancel := withDeadline(r.Context(), group.Timeout)
	defer cancel()
	res, err := s.gw.Chat(ctx, st.log, group, rest, chatBody, &f)
	if err != nil {
		s.failAttempts(w, st, rec, err)
		return
	}
	rec.Provider, rec.Upstream, rec.Attempts = res.Deployment.ProviderName, res.Model, res.Attempts
	setRouteHeaders(w.Header(), res)
	setTiming(w.Header(), st.start, res.Upstream)
	if res.Response.Stream == nil {
		out, err := anthropic.FromOpenAI(res.Response.Body)
		if err != nil {
			s.fail(w, st, rec, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
				Message: "The upstream response could not be translated.", Cause: err})
			return
		}
		rec.Status, rec.Usage = http.StatusOK, res.Response.Usage
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusOK)
		w.Write(out)
		return
	}

	stream := res.Response.Stream
	defer stream.Close()
	rec.TTFT = time.Since(st.start)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rec.Status = http.StatusOK
	out := anthropic.NewStreamWriter(w)
	chunk := res.First
	for {
		if err := out.Chunk(chunk); err != nil || rc.Flush() != nil {
			rec.Status, rec.Error = provider.StatusClientClosed, "client went away mid-stream"
			return
		}
		chunk, err = stream.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rec.Usage = stream.Usage()
			if r.Context().Err() != nil {
				rec.Status, rec.Error = provider.StatusClientClosed, "client went away mid-stream"
				return
			}
			e := api.As(err)
			if ctx.Err() != nil {
				e = &api.Error{Status: http.StatusGatewayTimeout, Type: api.TypeTimeout, Message: "The response took longer than the model's timeout.", Cause: err}
			}
			rec.Status, rec.Error = e.Status, e.Error()
			st.log.LogAttrs(ctx, slog.LevelWarn, "stream broke after it started", slog.String("provider", rec.Provider), slog.String("error", e.Error()))
			out.Fail(e)
			rc.Flush()
			return
		}
	}
	rec.Usage = stream.Usage()
	out.Finish()
	rc.Flush()
}
