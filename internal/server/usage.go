package server

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/provider"
	"github.com/switchboard-gw/switchboard/internal/tokens"
)

// promptTokens counts a chat body's prompt offline (for context-window
// checks).
func promptTokens(chatBody []byte) int64 { return countPrompt(chatBody, tokens.Count) }

// admissionTokens estimates a chat body's prompt for rate limits and
// budget reservations: quickly, and on the high side.
func admissionTokens(chatBody []byte) int64 { return countPrompt(chatBody, tokens.Estimate) }

// countPrompt sums count over the texts of a chat body's prompt, plus
// three tokens of framing per message.
func countPrompt(chatBody []byte, count func(string) int64) int64 {
	var in int64
	gjson.GetBytes(chatBody, "messages").ForEach(func(_, m gjson.Result) bool {
		in += 3
		c := m.Get("content")
		if c.Type == gjson.String {
			in += count(c.Str)
		} else {
			c.ForEach(func(_, p gjson.Result) bool {
				in += count(p.Get("text").String())
				return true
			})
		}
		m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
			in += count(tc.Get("function.name").String()) + count(tc.Get("function.arguments").String())
			return true
		})
		return true
	})
	gjson.GetBytes(chatBody, "tools").ForEach(func(_, t gjson.Result) bool {
		in += count(t.Raw)
		return true
	})
	return in
}

// fallbackOverride applies x-switchboard-fallbacks: a comma-separated list
// of model names to fall back to instead of the configured ones, or
// "none".
func fallbackOverride(r *http.Request, req *gateway.Request) {
	v := strings.TrimSpace(r.Header.Get("X-Switchboard-Fallbacks"))
	if v == "" {
		return
	}
	if strings.EqualFold(v, "none") {
		req.NoFallbacks = true
		return
	}
	req.Fallbacks = []string{}
	for _, n := range strings.Split(v, ",") {
		if n = strings.TrimSpace(n); n != "" {
			req.Fallbacks = append(req.Fallbacks, n)
		}
	}
}

// estimateUsage fills in token counts when the provider reported none:
// the prompt from the chat body, the answer from its text. The record is
// marked estimated.
func estimateUsage(u *provider.Usage, chatBody []byte, answer func() string) {
	if u.Input > 0 || u.Output > 0 {
		return
	}
	*u = provider.Usage{Input: promptTokens(chatBody), Output: tokens.Count(answer()), Estimated: true}
}

// answerText collects what a chat answer said, for estimates.
func answerText(body []byte) string {
	var b strings.Builder
	m := gjson.GetBytes(body, "choices.0.message")
	b.WriteString(m.Get("content").String())
	m.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		b.WriteString(tc.Get("function.name").String())
		b.WriteString(tc.Get("function.arguments").String())
		return true
	})
	return b.String()
}

// streamText accumulates a stream's text cheaply: only when a chunk
// carries content or arguments.
type streamText struct{ b strings.Builder }

func (s *streamText) add(chunk []byte) {
	d := gjson.GetBytes(chunk, "choices.0.delta")
	if c := d.Get("content"); c.Type == gjson.String {
		s.b.WriteString(c.Str)
	}
	d.Get("tool_calls").ForEach(func(_, tc gjson.Result) bool {
		s.b.WriteString(tc.Get("function.name").String())
		s.b.WriteString(tc.Get("function.arguments").String())
		return true
	})
}

// AdmissionTokens is admissionTokens for tests outside the package.
func AdmissionTokens(chatBody []byte) int64 { return admissionTokens(chatBody) }
