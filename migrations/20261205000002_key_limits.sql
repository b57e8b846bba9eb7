-- A key's own budget and rate limits (JSON: budget_usd, budget_window,
-- requests_per_minute, tokens_per_minute, redis_down); none: only the
-- configured ones apply.
ALTER TABLE api_keys ADD COLUMN limits TEXT;
