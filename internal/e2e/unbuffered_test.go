package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockstepUpstream streams five text deltas, sending each only after the
// client has received the one before it through the gateway: a gateway
// that held a chunk back until the next arrived would stall it.
type lockstepUpstream struct {
	ack     chan int // the client saw delta i
	mu      sync.Mutex
	stalled []string
}

const lockstepDeltas = 5

func (u *lockstepUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	anthropic := strings.HasSuffix(r.URL.Path, "/messages")
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	send := func(event, data string) {
		if anthropic {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		} else {
			fmt.Fprintf(w, "data: %s\n\n", data)
		}
		w.(http.Flusher).Flush()
	}
	chunk := func(delta, finish string) string {
		return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"mock-gpt","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + finish + `}]}`
	}
	if anthropic {
		send("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"mock-claude","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":1}}}`)
		send("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	} else {
		send("", chunk(`{"role":"assistant","content":""}`, "null"))
	}
	for i := 1; i <= lockstepDeltas; i++ {
		text := fmt.Sprintf("tok%d_", i)
		if anthropic {
			send("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`+text+`"}}`)
		} else {
			send("", chunk(`{"content":"`+text+`"}`, "null"))
		}
		select {
		case got := <-u.ack:
			if got != i {
				u.fail(fmt.Sprintf("client saw delta %d when %d was sent", got, i))
			}
		case <-time.After(5 * time.Second):
			u.fail(fmt.Sprintf("delta %d never reached the client: held back by the gateway", i))
		case <-r.Context().Done():
			return
		}
	}
	if anthropic {
		send("content_block_stop", `{"type":"content_block_stop","index":0}`)
		send("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}`)
		send("message_stop", `{"type":"message_stop"}`)
		return
	}
	send("", chunk(`{}`, `"stop"`))
	send("", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"mock-gpt","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":5,"total_tokens":10}}`)
	send("", "[DONE]")
}

func (u *lockstepUpstream) fail(msg string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stalled = append(u.stalled, msg)
}

// Every chunk is forwarded as soon as it arrives, with nothing held back
// for the next: OpenAI passed through, Anthropic translated to OpenAI
// chunks, and OpenAI translated to Anthropic events.
func TestStreamsAreNotBuffered(t *testing.T) {
	up := &lockstepUpstream{ack: make(chan int)}
	gw := startGateway(t, mockConfig, newServer(t, up))
	for _, c := range []struct{ name, path, body string }{
		{"openai pass-through", "/v1/chat/completions", `{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"anthropic to openai", "/v1/chat/completions", `{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"openai to anthropic", "/v1/messages", `{"model":"gpt","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, gw.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+masterKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			lines := bufio.NewReader(resp.Body)
			next, whole := 1, ""
			for {
				line, err := lines.ReadString('\n')
				whole += line
				if next <= lockstepDeltas && strings.Contains(line, fmt.Sprintf("tok%d_", next)) {
					select {
					case up.ack <- next:
					case <-time.After(10 * time.Second):
						t.Fatalf("the upstream stopped waiting for delta %d", next)
					}
					next++
				}
				if err != nil {
					break
				}
			}
			if next != lockstepDeltas+1 {
				t.Errorf("saw %d of %d deltas:\n%s", next-1, lockstepDeltas, whole)
			}
			if !strings.Contains(whole, "[DONE]") && !strings.Contains(whole, "message_stop") {
				t.Errorf("the stream did not end cleanly:\n%s", whole)
			}
			gw.nextRecord(t)
			up.mu.Lock()
			defer up.mu.Unlock()
			for _, s := range up.stalled {
				t.Error(s)
			}
			up.stalled = nil
		})
	}
}
