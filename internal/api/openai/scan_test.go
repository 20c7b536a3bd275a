package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func TestScanChat(t *testing.T) {
	f, err := ScanChat([]byte(`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"max_tokens":50,"n":2,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Model != "gpt-4o" || !f.Stream || !f.IncludeUsage || f.MaxTokens != 50 || f.N != 2 {
		t.Errorf("fields = %+v", f)
	}
	// Escaped model names are read as the string they spell.
	f, err = ScanChat([]byte(`{"messages":[{"role":"user","content":null}],"model":"a\u002fb"}`))
	if err != nil || f.Model != "a/b" {
		t.Errorf("model = %q, %v", f.Model, err)
	}
}

func TestRewriteChat(t *testing.T) {
	cases := []struct {
		in, model string
		force     bool
		want      string
	}{
		{`{"model":"a","messages":[]}`, "b", false, `{"model":"b","messages":[]}`},
		{`{ "messages":[], "model" : "a" }`, "long-model/name", false, `{ "messages":[], "model" : "long-model/name" }`},
		{`{"model":"a\"b","messages":[]}`, `q"x`, false, `{"model":"q\"x","messages":[]}`},
		{`{"model":"a","stream":true,"messages":[]}`, "b", true, `{"stream_options":{"include_usage":true},"model":"b","stream":true,"messages":[]}`},
		{`{"model":"a","stream":true,"stream_options":{"x":1},"messages":[]}`, "b", true, `{"model":"b","stream":true,"stream_options":{"x":1,"include_usage":true},"messages":[]}`},
		{`{"model":"a","stream":true,"stream_options":null,"messages":[]}`, "b", true, `{"model":"b","stream":true,"stream_options":{"include_usage":true},"messages":[]}`},
	}
	for _, c := range cases {
		body := []byte(strings.Replace(c.in, `"messages":[]`, `"messages":[{"role":"user","content":"x"}]`, 1))
		want := strings.Replace(c.want, `"messages":[]`, `"messages":[{"role":"user","content":"x"}]`, 1)
		f, err := ScanChat(body)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		got := string(RewriteChat(body, &f, c.model, c.force))
		if got != want {
			t.Errorf("RewriteChat(%s)\n got %s\nwant %s", c.in, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("not JSON: %s", got)
		}
	}
}

// FuzzScanChat: the scanner never panics, accepts only valid JSON objects
// with a model and messages, and a rewrite of anything it accepts is valid
// JSON naming the new model.
func FuzzScanChat(f *testing.F) {
	for _, s := range []string{
		`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":false},"messages":[{"role":"system","content":[{"type":"text","text":"x"}]}]}`,
		`{"model":"\u00e9","messages":[{"role":"tool","content":"r","tool_call_id":"1"}],"max_tokens":3}`,
		`{"model":1}`, `[]`, `{`, `{"model":"m","messages":[]}`, `{"model":"m","messages":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ScanChat(body)
		if err != nil {
			if err.Status != 400 || err.Message == "" {
				t.Fatalf("bad error %+v", err)
			}
			return
		}
		if !json.Valid(body) || fields.Model == "" {
			t.Fatalf("accepted %q", body)
		}
		out := RewriteChat(body, &fields, "new\"model", fields.Stream)
		if !json.Valid(out) {
			t.Fatalf("rewrite of %q is not JSON: %q", body, out)
		}
		if m := gjson.GetBytes(out, "model").String(); m != `new"model` {
			t.Fatalf("rewrite of %q has model %q", body, m)
		}
	})
}

func FuzzScanEmbeddings(f *testing.F) {
	for _, s := range []string{`{"model":"m","input":"x"}`, `{"model":"m","input":["a",[1,2]],"encoding_format":"base64","dimensions":8}`, `{"input":""}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := ScanEmbeddings(body)
		if err != nil {
			return
		}
		out := RewriteEmbeddings(body, &fields, "x")
		if !json.Valid(out) || gjson.GetBytes(out, "model").String() != "x" {
			t.Fatalf("rewrite of %q: %q", body, out)
		}
	})
}

func TestBase64RoundTrip(t *testing.T) {
	vec := []float64{0, 1.5, -2.25, 3.1415927}
	got, err := DecodeFloats(EncodeFloats(vec))
	if err != nil || len(got) != 4 {
		t.Fatal(err)
	}
	for i := range vec {
		if got[i] != float32(vec[i]) {
			t.Errorf("%d: %v != %v", i, got[i], vec[i])
		}
	}
}
