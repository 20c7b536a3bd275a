-- A key can opt out of the response cache: its requests are never
-- answered from it nor stored in it.
ALTER TABLE api_keys ADD COLUMN no_cache INTEGER NOT NULL DEFAULT 0;
