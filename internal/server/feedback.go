package server

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"time"

	"github.com/switchboard-gw/switchboard/internal/api"
	"github.com/switchboard-gw/switchboard/internal/store"
)

// FeedbackStore keeps feedback scores (the store).
type FeedbackStore interface {
	AddFeedback(ctx context.Context, f *store.Feedback) error
}

// feedbackRequest is the body of POST /v1/feedback.
type feedbackRequest struct {
	RequestID string   `json:"request_id"`
	Score     *float64 `json:"score"`
	Label     string   `json:"label"`
	Comment   string   `json:"comment"`
}

// feedback stores a client's score for an answer, shown with the request
// in the log. The request need not be logged yet: the log is written in
// the background, and a score may arrive first.
func (s *Server) feedback(w http.ResponseWriter, r *http.Request, st *reqState) {
	if s.feedbackStore == nil {
		writeError(w, st.render, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "unavailable", Message: "Feedback is not stored here."})
		return
	}
	body, buf, aerr := s.readBody(w, r)
	defer releaseBody(buf)
	var req feedbackRequest
	if aerr == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			aerr = api.BadRequest("", "invalid_json", "Invalid request body: %v", err)
		}
	}
	switch {
	case aerr != nil:
	case req.RequestID == "" || len(req.RequestID) > 128 || !printable(req.RequestID):
		aerr = api.BadRequest("request_id", "invalid_value", "request_id is required: the x-request-id of the answer, up to 128 printable characters.")
	case req.Score == nil || math.IsNaN(*req.Score) || math.IsInf(*req.Score, 0):
		aerr = api.BadRequest("score", "invalid_value", "score is required and must be a number.")
	case len(req.Label) > 100:
		aerr = api.BadRequest("label", "invalid_value", "label must be at most 100 bytes.")
	case len(req.Comment) > 4000:
		aerr = api.BadRequest("comment", "invalid_value", "comment must be at most 4000 bytes.")
	}
	if aerr != nil {
		writeError(w, st.render, aerr)
		return
	}
	f := &store.Feedback{ID: store.NewID("fb_"), RequestID: req.RequestID, Score: *req.Score, Label: req.Label, Comment: req.Comment, CreatedAt: time.Now().UTC()}
	if st.who != nil {
		f.KeyID = st.who.KeyID
	}
	if err := s.feedbackStore.AddFeedback(r.Context(), f); err != nil {
		st.log.Error("storing feedback failed", "error", err.Error())
		writeError(w, st.render, &api.Error{Status: http.StatusServiceUnavailable, Type: api.TypeServer, Code: "unavailable", Message: "The feedback could not be stored; try again."})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(f)
}
