-- Sign-ins revoked (`user:<name>`: everything a person holds; `sid:<id>`:
-- one sign-in), shared by every instance of a fleet and kept across
-- restarts: a session or refresh token issued at or before `revoked_s` is
-- refused. Instances poll by `updated_ms`.
CREATE TABLE IF NOT EXISTS signin_revocations (
    subject     TEXT PRIMARY KEY,
    revoked_s   BIGINT NOT NULL,
    updated_ms  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS signin_revocations_updated ON signin_revocations (updated_ms);
