-- Rate and concurrency limits per user, overall and per model, shared by
-- every key the user owns.
ALTER TABLE users ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN max_parallel INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN model_limits TEXT NOT NULL DEFAULT '{}';
