-- Organization-wide budgets, shared by every team (and key) in it.
ALTER TABLE organizations ADD COLUMN max_budget_usd DOUBLE PRECISION;
ALTER TABLE organizations ADD COLUMN budget_period TEXT NOT NULL DEFAULT 'monthly';
