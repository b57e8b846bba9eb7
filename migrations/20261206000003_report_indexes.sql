-- A developer's or a team's report reads only their rows (the key's report
-- already had its index): at ten million rows a range scan over everyone's
-- requests cost seconds.
CREATE INDEX IF NOT EXISTS requests_user_ts ON requests (user_id, ts_ms);
CREATE INDEX IF NOT EXISTS requests_team_ts ON requests (team, ts_ms);
