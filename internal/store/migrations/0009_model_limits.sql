-- Rate and concurrency limits per model within a key or a team: a JSON
-- object {"model": {"rpm": N, "tpm": N, "max_parallel": N}}.
ALTER TABLE api_keys ADD COLUMN model_limits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE teams ADD COLUMN model_limits TEXT NOT NULL DEFAULT '{}';
