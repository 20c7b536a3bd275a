-- Cache hits in the request log: what the answer would have cost, and the
-- request whose answer was served.
ALTER TABLE request_logs ADD COLUMN cost_saved_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN cache_source TEXT NOT NULL DEFAULT '';
