-- Concurrent request limits for keys and teams (0: unlimited).
ALTER TABLE api_keys ADD COLUMN max_parallel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN max_parallel INTEGER NOT NULL DEFAULT 0;
