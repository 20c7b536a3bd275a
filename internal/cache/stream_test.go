package cache

import (
	"encoding/json"
	"reflect"
	"testing"

	wire "github.com/switchboard-gw/switchboard/internal/api/openai"
	"github.com/switchboard-gw/switchboard/internal/provider"
)

// A stored answer replayed as chunks and assembled again is the same
// answer: text (in many pieces, multi-byte runes intact), reasoning,
// refusal, parallel tool calls, finish reasons, several choices, usage.
func TestChunksRoundTrip(t *testing.T) {
	for name, completion := range map[string]string{
		"text": `{"id":"c1","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"` +
			"Héllo wörld — ünïcode ✓ and a long enough sentence to need several pieces when replayed as a stream of chunks." +
			`","refusal":null},"finish_reason":"stop","logprobs":null}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}}`,
		"tools": `{"id":"c2","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,` +
			`"tool_calls":[{"id":"call_1","type":"function","function":{"name":"a","arguments":"{\"x\":1}"}},{"id":"call_2","type":"function","function":{"name":"b","arguments":"{}"}}]},` +
			`"finish_reason":"tool_calls","logprobs":null}],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":3}}}`,
		"two choices, reasoning, refusal": `{"id":"c3","object":"chat.completion","created":7,"model":"m","choices":[` +
			`{"index":0,"message":{"role":"assistant","content":"one","refusal":null,"reasoning_content":"thinking"},"finish_reason":"stop","logprobs":null},` +
			`{"index":1,"message":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":"content_filter","logprobs":null}],` +
			`"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
	} {
		t.Run(name, func(t *testing.T) {
			chunks, usage, err := Chunks([]byte(completion), true)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) < 3 {
				t.Errorf("%d chunks", len(chunks))
			}
			a := NewAssembler()
			for _, c := range chunks {
				a.Add(c)
			}
			back, ok := a.Complete(usage)
			if !ok {
				t.Fatal("not complete")
			}
			var want, got any
			json.Unmarshal([]byte(completion), &want)
			json.Unmarshal(back, &got)
			if !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed the answer:\n got %s\nwant %s", back, completion)
			}
			if usage != usageIn([]byte(completion)) {
				t.Errorf("usage %+v", usage)
			}
		})
	}
	// Without include_usage the stream carries no usage chunk.
	chunks, _, _ := Chunks([]byte(`{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`), false)
	for _, c := range chunks {
		var v map[string]any
		json.Unmarshal(c, &v)
		if v["usage"] != nil {
			t.Errorf("usage chunk without include_usage: %s", c)
		}
	}
}

// Streams that cannot be cached are refused: unfinished, unreadable, or
// carrying logprobs.
func TestAssemblerRefuses(t *testing.T) {
	for name, chunks := range map[string][]string{
		"unfinished": {`{"id":"a","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"}}]}`},
		"unreadable": {`{"id":"a","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":"stop"}]}`, `{oops`},
		"logprobs":   {`{"id":"a","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":{"content":[]},"finish_reason":"stop"}]}`},
		"empty":      {},
	} {
		a := NewAssembler()
		for _, c := range chunks {
			a.Add([]byte(c))
		}
		if _, ok := a.Complete(provider.Usage{}); ok {
			t.Errorf("%s: cached", name)
		}
	}
}

// The key canonicalizer never panics, and is stable: the same bytes give
// the same key, and a request re-encoded gives the same key too.
func FuzzKeyFor(f *testing.F) {
	for _, seed := range []string{
		`{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"hi"}]}`,
		`{"a":[1,2.5,-3e10,true,null,{"b":"\u00e9"}],"temperature":0.0}`,
		`{"seed":12345678901234567890,"n":1e400}`, `[]`, `{`, `{"x":"\ud800"}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := Request{Inbound: "chat", Group: "g", Scope: "s", Body: body}
		k1, det1, err1 := KeyFor(r)
		k2, det2, err2 := KeyFor(r)
		if k1 != k2 || det1 != det2 || (err1 == nil) != (err2 == nil) {
			t.Fatal("unstable key")
		}
		if err1 != nil {
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		again, err := json.Marshal(v)
		if err != nil {
			return
		}
		r.Body = again
		if k3, _, err := KeyFor(r); err == nil && k3 != k1 && !hasBigNumbers(body) {
			t.Errorf("re-encoded %s as %s: another key", body, again)
		}
	})
}

// hasBigNumbers: re-encoding through float64 changes numbers beyond its
// precision, which the key rightly tells apart.
func hasBigNumbers(b []byte) bool {
	digits := 0
	for _, c := range b {
		if c >= '0' && c <= '9' {
			digits++
			if digits > 15 {
				return true
			}
		} else {
			digits = 0
		}
	}
	return false
}

// Arbitrary chunks never make the assembler panic, and what it completes
// is valid JSON.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte(`{"id":"a","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`))
	f.Add([]byte(`{"choices":[{"index":3,"delta":{"tool_calls":[{"index":2,"function":{"arguments":"{"}}]},"finish_reason":"tool_calls"}]}`))
	f.Add([]byte(`{"choices":[{"index":-1,"delta":{"tool_calls":[{"index":-5}]}}]}`))
	f.Fuzz(func(t *testing.T, chunk []byte) {
		a := NewAssembler()
		a.Add(chunk)
		a.Add(chunk)
		if out, ok := a.Complete(provider.Usage{Input: 1}); ok && !json.Valid(out) {
			t.Fatalf("invalid completion %s", out)
		}
	})
}

// usageIn reads a stored completion's usage.
func usageIn(completion []byte) provider.Usage {
	var resp struct {
		Usage *wire.Usage `json:"usage"`
	}
	if json.Unmarshal(completion, &resp) != nil {
		return provider.Usage{}
	}
	return fromWire(resp.Usage)
}
