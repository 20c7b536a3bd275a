-- Model groups defined at run time through the admin API, merged with
-- the config file's: one row per group, its definition as JSON in the
-- config file's shape.
CREATE TABLE model_groups (
    name        TEXT PRIMARY KEY,
    definition  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);
