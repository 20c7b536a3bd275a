package server

import (
	"encoding/json"

	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/tokens"
)

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, st *reqState, rec *Record, body []byte) {
	f, aerr := openai.ScanEmbeddings(body)
	rec.Model = f.Model
	if aerr != nil {
		s.fail(w, st, rec, aerr)
		return
	}
	group, rest, ok := s.resolve(w, st, rec, f.Model)
	if !ok {
		return
	}
	ctx, cancel := withDeadline(r.Context(), group.Timeout)
	defer cancel()
	if _, ok := s.admit(ctx, w, st, rec, group, rest, func() int64 { return tokens.EstimateAll(openai.Inputs(body)) }, -1); !ok {
		return
	}
	greq := &gateway.Request{Group: group, Rest: rest, Body: body, Embed: &f}
	fallbackOverride(r, greq)
	res, err := s.gw.Load().Embed(ctx, st.log, greq)
	if err != nil {
		s.failAttempts(w, st, rec, err)
		return
	}
	rec.Provider, rec.Upstream, rec.Attempts, rec.Trace, rec.deployment = res.Deployment.ProviderName, res.Model, res.Attempts, res.Trace, res.Deployment
	rec.Status, rec.Usage = http.StatusOK, res.Response.Usage
	out := res.Response.Body
	if f.Base64 && gjson.GetBytes(out, "data.0.embedding").IsArray() {
		// The upstream answered in floats; the client asked for base64.
		if out, err = openai.EmbeddingsToBase64(out); err != nil {
			s.fail(w, st, rec, &api.Error{Status: http.StatusBadGateway, Type: api.TypeUpstream, Code: "invalid_upstream_response",
				Message: "The upstream embeddings response could not be read.", Cause: err})
			return
		}
	}
	setRouteHeaders(st, w.Header(), res)
	setTiming(st, w.Header(), rec, res.Upstream)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

func (s *Server) models(w http.ResponseWriter, _ *http.Request, st *reqState) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	names := s.gw.Load().Router.Names()
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: make([]model, 0, len(names))}
	for _, n := range names {
		if st.who == nil || st.who.AllowsModel(n) {
			list.Data = append(list.Data, model{ID: n, Object: "model", Created: 0, OwnedBy: "switchboard"})
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, openai.ErrorJSON, api.As(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
