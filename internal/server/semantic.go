package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/cache"
	"github.com/switchboard-gw/switchboard/internal/gateway"
)

// semanticPending is a request's place in the semantic cache: its
// partition and the embedding of its last user turn.
type semanticPending struct {
	part string
	vec  []float32
}

// semanticPrompt embeds a request's last user turn, if the request may be
// looked up by meaning: at most SemanticMaxTurns user turns, and a last
// turn of text only. Everything else in the request — the system prompt,
// earlier turns, tools, parameters — must match exactly: it is hashed
// into the partition with the scope and group. Nil when not eligible or
// when the embedding failed (logged: the request goes on uncached).
func (s *Server) semanticPrompt(ctx context.Context, st *reqState, group, scope, namespace string, body []byte) *semanticPending {
	c := s.cache
	msgs := gjson.GetBytes(body, "messages").Array()
	last, turns := -1, 0
	for i, m := range msgs {
		if m.Get("role").String() == "user" {
			last, turns = i, turns+1
		}
	}
	if last < 0 || turns > c.SemanticMaxTurns {
		return nil
	}
	text, ok := textOf(msgs[last].Get("content"))
	if !ok || strings.TrimSpace(text) == "" {
		return nil
	}
	rest, err := sjson.SetBytes(body, "messages."+strconv.Itoa(last)+".content", "")
	if err != nil {
		return nil
	}
	k, _, err := cache.KeyFor(cache.Request{Inbound: "semantic:" + st.endpoint, Group: group, Scope: scope, Namespace: namespace, Body: rest})
	if err != nil {
		return nil
	}
	vec, err := s.embed(ctx, st, text)
	if err != nil {
		st.log.Warn("semantic cache: embedding failed; not cached by meaning", "model", c.SemanticModel, "error", err.Error())
		return nil
	}
	return &semanticPending{part: hex.EncodeToString(k[:]), vec: vec}
}

// textOf reads a message's content when it is text only.
func textOf(content gjson.Result) (string, bool) {
	if content.Type == gjson.String {
		return content.Str, true
	}
	if !content.IsArray() {
		return "", false
	}
	var b strings.Builder
	ok := true
	content.ForEach(func(_, part gjson.Result) bool {
		if part.Get("type").String() != "text" {
			ok = false
			return false
		}
		b.WriteString(part.Get("text").String())
		return true
	})
	return b.String(), ok
}

// embed asks the semantic cache's embedding model, through this gateway's
// own providers, for a unit vector of text.
func (s *Server) embed(ctx context.Context, st *reqState, text string) ([]float32, error) {
	gw := s.gw.Load()
	model := s.cache.SemanticModel
	g, rest, ok := gw.Router.Resolve(model)
	if !ok {
		return nil, errors.New("no model group " + strconv.Quote(model))
	}
	body, _ := json.Marshal(map[string]string{"model": model, "input": text})
	f, aerr := openai.ScanEmbeddings(body)
	if aerr != nil {
		return nil, aerr
	}
	res, err := gw.Embed(ctx, st.log, &gateway.Request{Group: g, Rest: rest, Body: body, Embed: &f})
	if err != nil {
		return nil, err
	}
	emb := gjson.GetBytes(res.Response.Body, "data.0.embedding")
	var v []float32
	switch {
	case emb.IsArray():
		for _, x := range emb.Array() {
			v = append(v, float32(x.Float()))
		}
	case emb.Type == gjson.String:
		var err error
		if v, err = cache.DecodeVector(emb.Str); err != nil {
			return nil, err
		}
	}
	if len(v) == 0 {
		return nil, errors.New("no embedding in the answer")
	}
	return cache.Normalize(v), nil
}
