-- The semantic cache's entries: a prompt's embedding within its partition
-- (scope, model group and everything else the request held), and the
-- answer. Every replica loads them into its index and follows new ones.
CREATE TABLE semantic_cache (
    id          TEXT PRIMARY KEY,
    part        TEXT NOT NULL,
    vector      TEXT NOT NULL,
    entry       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX semantic_cache_created ON semantic_cache (created_at);
CREATE INDEX semantic_cache_expires ON semantic_cache (expires_at);
