-- Spend limits set through the admin API (`/v1/organizations/spend_limits`,
-- Anthropic's Admin API shape): one per scope (user, rbac_group = a
-- switchyard team, or the organization) and period (daily, weekly,
-- monthly). `amount_cents` NULL is an explicit "no limit" for that scope
-- and period. A deleted limit keeps its row with `deleted_ms` set, so every
-- instance polling by `updated_ms` learns of the deletion.
CREATE TABLE IF NOT EXISTS spend_limits (
    id            TEXT PRIMARY KEY,
    scope_type    TEXT NOT NULL,
    scope_id      TEXT NOT NULL,
    period        TEXT NOT NULL,
    amount_cents  BIGINT,
    created_ms    BIGINT NOT NULL,
    updated_ms    BIGINT NOT NULL,
    deleted_ms    BIGINT
);
CREATE UNIQUE INDEX IF NOT EXISTS spend_limits_scope ON spend_limits (scope_type, scope_id, period);
CREATE INDEX IF NOT EXISTS spend_limits_updated ON spend_limits (updated_ms);
