-- Client keys (one per developer, script or team service). Only a SHA-256
-- of each key is kept: a key is shown once, when it is made.
CREATE TABLE IF NOT EXISTS api_keys (
    id          TEXT PRIMARY KEY,
    hash        TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    name        TEXT NOT NULL,
    user_id     TEXT,
    team        TEXT,
    models      TEXT,
    metadata    TEXT,
    created_ms  BIGINT NOT NULL,
    expires_ms  BIGINT,
    revoked_ms  BIGINT,
    updated_ms  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS api_keys_updated ON api_keys (updated_ms);
