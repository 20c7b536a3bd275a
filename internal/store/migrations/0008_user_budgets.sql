-- Per-user budgets, shared by every key the user owns.
ALTER TABLE users ADD COLUMN max_budget_usd DOUBLE PRECISION;
ALTER TABLE users ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'monthly';
