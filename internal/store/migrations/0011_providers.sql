-- Providers defined at run time through the admin API, merged with the
-- config file's: one row per provider, its definition as JSON in the
-- config file's shape. Secret settings hold only `credential:NAME`
-- references; the values live sealed in credentials.
CREATE TABLE provider_defs (
    name        TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
