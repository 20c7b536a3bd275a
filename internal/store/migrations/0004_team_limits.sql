-- Team-wide limits: a budget, rate limits and a model list shared by all
-- the team's keys. Additive columns with defaults: older replicas keep
-- working while newer ones roll out.
ALTER TABLE teams ADD COLUMN max_budget_usd DOUBLE PRECISION;
ALTER TABLE teams ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'monthly';
ALTER TABLE teams ADD COLUMN rpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN tpm INTEGER NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN models TEXT NOT NULL DEFAULT '[]';
