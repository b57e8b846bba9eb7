-- Sign-ins in progress, when a ledger database is configured, so any
-- instance of a fleet can take each step (Claude Code's polls, the
-- browser's form and the provider's callback may reach different ones).
-- Device codes are kept as their SHA-256; what a step needs from an
-- earlier one (the person who approved, the PKCE verifier) is sealed with
-- the session secret. Rows expire with the device code (ten minutes).
CREATE TABLE IF NOT EXISTS signin_devices (
    device_key    TEXT PRIMARY KEY,
    user_code     TEXT NOT NULL UNIQUE,
    status        TEXT NOT NULL,
    outcome       TEXT,
    expires_ms    BIGINT NOT NULL,
    last_poll_ms  BIGINT
);
CREATE TABLE IF NOT EXISTS signin_flows (
    state       TEXT PRIMARY KEY,
    sealed      TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL
);
