-- Governance schema v1: organizations, teams, users, API keys, audit log.
-- Timestamps are unix milliseconds (INTEGER) so one schema serves SQLite
-- and PostgreSQL.
CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    org_id      TEXT REFERENCES organizations(id),
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    email       TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    team_id     TEXT REFERENCES teams(id),
    created_at  BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE,
    prefix          TEXT NOT NULL,
    role            TEXT NOT NULL DEFAULT 'developer',
    scopes          TEXT NOT NULL DEFAULT 'inference',
    team_id         TEXT REFERENCES teams(id),
    user_id         TEXT REFERENCES users(id),
    models          TEXT NOT NULL DEFAULT '[]',
    max_budget_usd  DOUBLE PRECISION,
    budget_period   TEXT NOT NULL DEFAULT '',
    rpm             INTEGER NOT NULL DEFAULT 0,
    tpm             INTEGER NOT NULL DEFAULT 0,
    metadata        TEXT NOT NULL DEFAULT '{}',
    expires_at      BIGINT,
    revoked_at      BIGINT,
    last_used_at    BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX api_keys_team ON api_keys (team_id, id);
CREATE INDEX api_keys_user ON api_keys (user_id, id);

CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before      TEXT NOT NULL DEFAULT '',
    after       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
