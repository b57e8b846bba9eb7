-- One row per request, whatever happened. Portable between SQLite and
-- PostgreSQL: money is integer nano-dollars (1e-9 USD), times are unix ms
-- plus the UTC day, flags are 0/1 integers (BIGINT everywhere, so one set of binds fits both).
CREATE TABLE IF NOT EXISTS requests (
    id                    TEXT PRIMARY KEY,
    ts_ms                 BIGINT NOT NULL,
    day                   TEXT NOT NULL,
    key_id                TEXT,
    user_id               TEXT,
    team                  TEXT,
    session_id            TEXT,
    agent_id              TEXT,
    dialect               TEXT NOT NULL,
    endpoint              TEXT NOT NULL,
    requested_model       TEXT,
    route                 TEXT,
    tier                  TEXT,
    provider              TEXT,
    model                 TEXT,
    upstream_model        TEXT,
    stream                BIGINT NOT NULL,
    attempts              BIGINT NOT NULL,
    fallbacks             BIGINT NOT NULL,
    cache                 TEXT,
    status                BIGINT NOT NULL,
    outcome               TEXT NOT NULL,
    error_kind            TEXT,
    input_tokens          BIGINT NOT NULL,
    output_tokens         BIGINT NOT NULL,
    cache_write_5m_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    cache_read_tokens     BIGINT NOT NULL,
    output_estimated      BIGINT NOT NULL,
    priced                BIGINT NOT NULL,
    cost_nusd             BIGINT NOT NULL,
    baseline_nusd         BIGINT NOT NULL,
    latency_ms            DOUBLE PRECISION NOT NULL,
    ttft_ms               DOUBLE PRECISION,
    overhead_ms           DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS requests_ts ON requests (ts_ms);
CREATE INDEX IF NOT EXISTS requests_day ON requests (day);
CREATE INDEX IF NOT EXISTS requests_key_ts ON requests (key_id, ts_ms);
CREATE INDEX IF NOT EXISTS requests_session ON requests (session_id, ts_ms);
