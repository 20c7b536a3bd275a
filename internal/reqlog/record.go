package reqlog

import (
	"encoding/json"
	"time"

	"github.com/switchboard-gw/switchboard/internal/gateway"
	"github.com/switchboard-gw/switchboard/internal/server"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// traceStep is one upstream attempt as the log stores it.
type traceStep struct {
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Outcome   string  `json:"outcome"`
	Status    int     `json:"status,omitempty"`
	Class     string  `json:"class,omitempty"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
}

// FromRecord turns a finished request into its log entry, less its id
// and trace, which the writer adds.
func FromRecord(r *server.Record) store.LogEntry {
	e := store.LogEntry{
		RequestID:        r.RequestID,
		CreatedAt:        r.Start,
		KeyID:            r.KeyID,
		TeamID:           r.TeamID,
		UserID:           r.UserID,
		Endpoint:         r.Endpoint,
		Model:            r.Model,
		Provider:         r.Provider,
		DeploymentModel:  r.Upstream,
		Stream:           r.Stream,
		Status:           r.Status,
		Error:            r.Error,
		ErrorType:        r.ErrorType,
		ErrorCode:        r.ErrorCode,
		LatencyMS:        ms(r.Latency),
		TTFTMS:           ms(r.TTFT),
		OverheadMS:       ms(r.Overhead),
		InputTokens:      r.Usage.Input,
		OutputTokens:     r.Usage.Output,
		CachedTokens:     r.Usage.CacheRead,
		CacheWriteTokens: r.Usage.CacheWrite,
		ReasoningTokens:  r.Usage.Reasoning,
		UsageEstimated:   r.Usage.Estimated,
		CostUSD:          r.CostUSD,
		Unpriced:         r.Unpriced,
		Attempts:         r.Attempts,
		Cache:            r.Cache,
		CostSavedUSD:     r.CostSavedUSD,
		CacheSource:      r.CacheSource,
		Metadata:         r.Metadata,
		Tags:             r.Tags,
		Trace:            "[]",
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	return e
}

func trace(steps []gateway.Attempt) string {
	out := make([]traceStep, len(steps))
	for i, a := range steps {
		out[i] = traceStep{Provider: a.Provider, Model: a.Model, Outcome: a.Outcome, Status: a.Status, Class: a.Class, LatencyMS: ms(a.Latency), Error: a.Error}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "[]"
	}
	return string(b)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
