package mock

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

func chat(t *testing.T, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/v1/chat/completions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestFailRate(t *testing.T) {
	for rate, want := range map[float64]int{0: 200, 1: 500} {
		srv := httptest.NewServer(New(Options{FailRate: rate}))
		for range 20 {
			if code, _ := chat(t, srv.URL, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`); code != want {
				t.Fatalf("fail-rate %v: status %d", rate, code)
			}
		}
		srv.Close()
	}
}

// The same prompt gets the same answer; max_tokens cuts it with "length".
func TestDeterministic(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	_, a := chat(t, srv.URL, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	_, b := chat(t, srv.URL, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	if gjson.Get(a, "choices.0.message.content").String() != Reply("m", "hi") || gjson.Get(a, "id").String() != gjson.Get(b, "id").String() {
		t.Errorf("answers differ: %s / %s", a, b)
	}
	_, c := chat(t, srv.URL, `{"model":"m","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`)
	if gjson.Get(c, "choices.0.finish_reason").String() != "length" || gjson.Get(c, "usage.completion_tokens").Int() != 2 {
		t.Errorf("max_tokens: %s", c)
	}
}

func TestAuthRequired(t *testing.T) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	for path, h := range map[string]string{"/v1/chat/completions": "", "/v1/messages": "", "/openai/deployments/d/chat/completions?api-version=1": ""} {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(`{}`+h))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 401 {
			t.Errorf("%s without a key: %d", path, resp.StatusCode)
		}
	}
}

func TestEmbeddingNearness(t *testing.T) {
	dot := func(a, b []float64) (s float64) {
		for i := range a {
			s += a[i] * b[i]
		}
		return
	}
	a := Embedding("what is the capital of france", 256)
	b := Embedding("what is the capital of France?", 256)
	c := Embedding("recipe for banana bread with walnuts", 256)
	if dot(a, b) < 0.99 || dot(a, c) > 0.5 {
		t.Errorf("near %.3f far %.3f", dot(a, b), dot(a, c))
	}
}
