-- Reports read a few rare kinds of row over their whole range: failures,
-- requests the guardrails acted on, and requests not priced exactly. An
-- index of only those rows turns each of these reads from a scan of the
-- range into a look at a handful of rows.
CREATE INDEX IF NOT EXISTS requests_failed_ts ON requests (ts_ms) WHERE outcome IN ('failed', 'stream_failed');
CREATE INDEX IF NOT EXISTS requests_guard_ts ON requests (ts_ms) WHERE guard IS NOT NULL;
CREATE INDEX IF NOT EXISTS requests_doubtful_ts ON requests (ts_ms) WHERE priced = 0 OR priced_as IS NOT NULL;
