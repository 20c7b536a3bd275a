-- engine: postgres
-- On PostgreSQL the request log is partitioned by day (created_at in unix
-- milliseconds), so retention drops a whole day's partition instead of
-- deleting rows. Rows outside every daily partition (those written before
-- this migration, say) live in the default partition and are pruned row
-- by row, as on SQLite. Daily partitions are created ahead by the store.
ALTER TABLE request_logs RENAME TO request_logs_unpartitioned;
CREATE TABLE request_logs (LIKE request_logs_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
ALTER TABLE request_logs ADD PRIMARY KEY (id, created_at);
CREATE TABLE request_logs_default PARTITION OF request_logs DEFAULT;
INSERT INTO request_logs SELECT * FROM request_logs_unpartitioned;
DROP TABLE request_logs_unpartitioned;
CREATE INDEX request_logs_created ON request_logs (created_at);
CREATE INDEX request_logs_key ON request_logs (key_id, created_at);
CREATE INDEX request_logs_team ON request_logs (team_id, created_at);
CREATE INDEX request_logs_model ON request_logs (model, created_at);
CREATE INDEX request_logs_request ON request_logs (request_id);
CREATE INDEX request_logs_user ON request_logs (user_id, created_at);
