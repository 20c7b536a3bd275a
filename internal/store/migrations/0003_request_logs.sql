-- The request log (one row per request, written in batches off the
-- request path) and daily usage rollups per key, team and model.
CREATE TABLE request_logs (
    id               TEXT PRIMARY KEY,
    request_id       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    key_id           TEXT NOT NULL DEFAULT '',
    team_id          TEXT NOT NULL DEFAULT '',
    endpoint         TEXT NOT NULL,
    model            TEXT NOT NULL,
    provider         TEXT NOT NULL DEFAULT '',
    deployment_model TEXT NOT NULL DEFAULT '',
    stream           INTEGER NOT NULL DEFAULT 0,
    status           INTEGER NOT NULL,
    error            TEXT NOT NULL DEFAULT '',
    latency_ms       DOUBLE PRECISION NOT NULL,
    ttft_ms          DOUBLE PRECISION NOT NULL DEFAULT 0,
    input_tokens     BIGINT NOT NULL DEFAULT 0,
    output_tokens    BIGINT NOT NULL DEFAULT 0,
    cached_tokens    BIGINT NOT NULL DEFAULT 0,
    usage_estimated  INTEGER NOT NULL DEFAULT 0,
    cost_usd         DOUBLE PRECISION NOT NULL DEFAULT 0,
    unpriced         INTEGER NOT NULL DEFAULT 0,
    cache            TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    trace            TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX request_logs_created ON request_logs (created_at);
CREATE INDEX request_logs_key ON request_logs (key_id, created_at);
CREATE INDEX request_logs_team ON request_logs (team_id, created_at);
CREATE INDEX request_logs_model ON request_logs (model, created_at);
CREATE INDEX request_logs_request ON request_logs (request_id);

CREATE TABLE usage_daily (
    day            TEXT NOT NULL,
    key_id         TEXT NOT NULL,
    team_id        TEXT NOT NULL,
    model          TEXT NOT NULL,
    requests       BIGINT NOT NULL,
    errors         BIGINT NOT NULL,
    input_tokens   BIGINT NOT NULL,
    output_tokens  BIGINT NOT NULL,
    cost_usd       DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (day, key_id, team_id, model)
);
