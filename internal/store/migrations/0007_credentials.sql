-- Provider credentials, sealed with AES-256-GCM (never stored in clear).
CREATE TABLE credentials (
    name        TEXT PRIMARY KEY,
    sealed      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
