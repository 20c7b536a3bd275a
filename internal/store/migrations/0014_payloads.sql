-- Payload capture: prompts and completions are stored (redacted, capped)
-- only for keys, teams or model groups that ask for it.
ALTER TABLE api_keys ADD COLUMN log_payloads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE teams ADD COLUMN log_payloads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE request_logs ADD COLUMN request_body TEXT NOT NULL DEFAULT '';
ALTER TABLE request_logs ADD COLUMN response_body TEXT NOT NULL DEFAULT '';
