-- More of each request in its log entry: the user, every token kind, the
-- error's class, Switchboard's own overhead, and the client's metadata and
-- tags. Feedback scores, one row per score sent for a request.
ALTER TABLE request_logs ADD COLUMN user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE request_logs ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN reasoning_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN error_type TEXT NOT NULL DEFAULT '';
ALTER TABLE request_logs ADD COLUMN error_code TEXT NOT NULL DEFAULT '';
ALTER TABLE request_logs ADD COLUMN overhead_ms DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN metadata TEXT NOT NULL DEFAULT '';
ALTER TABLE request_logs ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE INDEX request_logs_user ON request_logs (user_id, created_at);

CREATE TABLE feedback (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL,
    key_id      TEXT NOT NULL DEFAULT '',
    score       DOUBLE PRECISION NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    comment     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);
CREATE INDEX feedback_request ON feedback (request_id);
