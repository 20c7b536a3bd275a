package cache

import "testing"

// Requests that mean the same hit the same key; anything that changes the
// answer, or who may see it, misses.
func TestKeyCanonical(t *testing.T) {
	base := Request{Inbound: "chat", Group: "gpt", Scope: "key:a",
		Body: []byte(`{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`)}
	key := func(r Request) Key {
		t.Helper()
		k, _, err := KeyFor(r)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	with := func(body string) Request { r := base; r.Body = []byte(body); return r }
	want := key(base)
	same := map[string]Request{
		"key order and spaces":  with(`{ "max_tokens" : 50 , "messages":[{"content":"hi","role":"user"}], "temperature":0.0, "model":"gpt"}`),
		"number forms":          with(`{"model":"gpt","temperature":0e0,"messages":[{"role":"user","content":"hi"}],"max_tokens":5.0e1}`),
		"stream and options":    with(`{"model":"gpt","stream":true,"stream_options":{"include_usage":true},"temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"user, metadata, store": with(`{"model":"gpt","user":"u-1","metadata":{"a":"b"},"store":true,"temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"another model name":    with(`{"model":"gpt-alias","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"escaped same string":   with(`{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"\u0068i"}],"max_tokens":50}`),
	}
	for name, r := range same {
		if key(r) != want {
			t.Errorf("%s: a different key", name)
		}
	}
	differ := map[string]Request{
		"content":         with(`{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"hi!"}],"max_tokens":50}`),
		"role":            with(`{"model":"gpt","temperature":0,"messages":[{"role":"system","content":"hi"}],"max_tokens":50}`),
		"max_tokens":      with(`{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"hi"}],"max_tokens":51}`),
		"temperature":     with(`{"model":"gpt","temperature":0.2,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"seed":            with(`{"model":"gpt","temperature":0,"seed":7,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"stop":            with(`{"model":"gpt","temperature":0,"stop":["x"],"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"tools":           with(`{"model":"gpt","temperature":0,"tools":[{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"tool_choice":     with(`{"model":"gpt","temperature":0,"tool_choice":"none","messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"response_format": with(`{"model":"gpt","temperature":0,"response_format":{"type":"json_object"},"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
		"message order":   with(`{"model":"gpt","temperature":0,"messages":[{"role":"user","content":"hi"},{"role":"user","content":"yo"}],"max_tokens":50}`),
		"big seeds":       with(`{"model":"gpt","temperature":0,"seed":12345678901234567,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`),
	}
	seen := map[Key]string{}
	for name, r := range differ {
		k := key(r)
		if k == want {
			t.Errorf("%s: the same key", name)
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share a key", name, other)
		}
		seen[k] = name
	}
	big2 := with(`{"model":"gpt","temperature":0,"seed":12345678901234568,"messages":[{"role":"user","content":"hi"}],"max_tokens":50}`)
	if key(big2) == key(differ["big seeds"]) {
		t.Error("seeds beyond float precision collide")
	}
	for name, change := range map[string]func(*Request){
		"scope": func(r *Request) { r.Scope = "key:b" }, "group": func(r *Request) { r.Group = "gpt-2" },
		"inbound": func(r *Request) { r.Inbound = "messages" }, "namespace": func(r *Request) { r.Namespace = "ns" },
	} {
		r := base
		change(&r)
		if key(r) == want {
			t.Errorf("another %s: the same key", name)
		}
	}
	if _, det, _ := KeyFor(base); !det {
		t.Error("temperature 0 is deterministic")
	}
	for _, body := range []string{`{"model":"gpt","messages":[]}`, `{"model":"gpt","temperature":0.7,"messages":[]}`} {
		if _, det, _ := KeyFor(with(body)); det {
			t.Errorf("%s: deterministic", body)
		}
	}
	if _, _, err := KeyFor(with(`[1]`)); err == nil {
		t.Error("a non-object body was keyed")
	}
}

// BenchmarkKeyFor is the cost of keying a typical chat request.
func BenchmarkKeyFor(b *testing.B) {
	r := Request{Inbound: "chat", Group: "gpt", Scope: "key:key_0123456789",
		Body: []byte(`{"model":"gpt","temperature":0,"max_tokens":256,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Summarize the plot of Hamlet in three sentences, please."}],"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object","properties":{"q":{"type":"string"}}}}}]}`)}
	b.ReportAllocs()
	for range b.N {
		KeyFor(r)
	}
}
