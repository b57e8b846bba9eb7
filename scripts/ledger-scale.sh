#!/usr/bin/env bash
# Report latency on a large PostgreSQL ledger: fills a throwaway schema of
# the machine's PostgreSQL (127.0.0.1:5432, database test) with N synthetic
# rows spread over 90 days (200 keys, 150 developers, 12 teams, sessions of
# 40 requests, the tier mix of a routed day, 1% failures), then times the
# reports with only the primary key, with the indexes of the migrations
# before the fleet work, and with the ones the schema has now.
#
#   scripts/ledger-scale.sh target/release/switchyard [ROWS]   # default 10000000
#
# Each figure is the wall time of one `switchyard report …` process (connect,
# migrate check, queries, rendering), best of three. Prints a Markdown table.
# KEEP=1 keeps the filled schema (its name and a config for it are printed)
# and skips the timings, for looking at query plans; SCHEMA=NAME times a
# schema filled before instead of filling a new one (and keeps it).
set -euo pipefail
bin=$(realpath "$1")
rows=${2:-10000000}
schema="${SCHEMA:-sy_scale_$$}"
tmp=$(mktemp -d)
pg() { psql -h 127.0.0.1 -U postgres -d test -v ON_ERROR_STOP=1 -qtAc "$1"; }
if [ "${KEEP:-}" != 1 ] && [ -z "${SCHEMA:-}" ]; then
  trap 'pg "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
fi

[ -n "${SCHEMA:-}" ] || pg "CREATE SCHEMA $schema"
cat > "$tmp/switchyard.toml" <<EOF
auth = "none"
database_url = "postgres://postgres@127.0.0.1:5432/test?options%5Bsearch_path%5D=$schema"
EOF
cd "$tmp"
# The first connection creates the schema (migrations).
"$bin" report daily -c switchyard.toml > /dev/null

if [ -z "${SCHEMA:-}" ]; then
day_ms=86400000
now_ms=$(( $(date +%s) * 1000 ))
start_ms=$(( (now_ms / day_ms - 89) * day_ms ))
span_ms=$(( 90 * day_ms ))
echo "filling $rows rows over 90 days …" >&2
t0=$(date +%s)
pg "SET search_path = $schema;
INSERT INTO requests
SELECT 'r' || i,
       ts,
       to_char(to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
       'key_' || (i % 200), 'dev' || (i % 150), 'team' || (i % 12),
       'sess-' || (i / 40), NULL, 'anthropic', 'messages',
       'claude-opus-5-5', 'auto',
       tier, 'anthropic', tier, 'claude-' || tier,
       1, 1, 0, 'miss',
       CASE WHEN i % 97 = 0 THEN 529 ELSE 200 END,
       CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'success' END,
       CASE WHEN i % 97 = 0 THEN 'overloaded' END,
       200 + i % 800, 300 + i % 900, 0, 0, 40000 + i % 60000, 0, 1,
       CASE tier WHEN 'local' THEN 0 WHEN 'cheap' THEN 900000 + i % 1000 ELSE 9000000 + i % 10000 END,
       9000000 + i % 10000,
       800 + (i % 2000), 300, 0.2,
       NULL, NULL, NULL, NULL, 'auto: synthetic'
FROM (SELECT i, $start_ms + (i::bigint * $span_ms / $rows) AS ts,
             CASE WHEN i % 10 < 5 THEN 'local' WHEN i % 10 < 8 THEN 'cheap' ELSE 'premium' END AS tier
      FROM generate_series(0, $rows - 1) AS i) g;
ANALYZE requests;"
echo "filled in $(( $(date +%s) - t0 )) s; table $(pg "SELECT pg_size_pretty(pg_total_relation_size('$schema.requests'))")" >&2
fi

if [ "${KEEP:-}" = 1 ]; then
  echo "kept: schema $schema, config $tmp/switchyard.toml"
  exit 0
fi
today=$(date -u +%F)
week_from=$(date -u -d '6 days ago' +%F)
month_from=$(date -u -d '29 days ago' +%F)
reports=(
  "daily|report daily"
  "weekly|report weekly"
  "models, 30 days|report models --from $month_from --to $today"
  "one team's daily|report daily --team team3"
  "one developer's weekly|report weekly --user dev7"
  "sessions, 7 days|report sessions --from $week_from --to $today"
)

best_of_three() {
  local best=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s%N)
    # shellcheck disable=SC2086
    "$bin" $1 -c switchyard.toml > /dev/null
    e=$(date +%s%N)
    local ms=$(( (e - s) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$best"
}

declare -A col
measure() {
  local label=$1
  pg "SET search_path = $schema; ANALYZE requests;"
  for r in "${reports[@]}"; do
    col["$label|${r%%|*}"]=$(best_of_three "${r#*|}")
  done
}

indexes=$(pg "SELECT indexname FROM pg_indexes WHERE schemaname = '$schema' AND tablename = 'requests' AND indexname NOT LIKE '%pkey'")
definitions=$(pg "SELECT indexdef FROM pg_indexes WHERE schemaname = '$schema' AND tablename = 'requests' AND indexname NOT LIKE '%pkey'")
for i in $indexes; do pg "DROP INDEX $schema.$i"; done
echo "timing with the primary key only …" >&2
measure none
echo "timing with the first migration's indexes …" >&2
pg "SET search_path = $schema;
CREATE INDEX requests_ts ON requests (ts_ms);
CREATE INDEX requests_day ON requests (day);
CREATE INDEX requests_key_ts ON requests (key_id, ts_ms);
CREATE INDEX requests_session ON requests (session_id, ts_ms);"
measure before
for i in requests_ts requests_day requests_key_ts requests_session; do pg "DROP INDEX $schema.$i"; done
echo "timing with the indexes the migrations make now …" >&2
while IFS= read -r def; do [ -n "$def" ] && pg "$def"; done <<< "$definitions"
measure now

echo
echo "$rows rows, $(pg "SELECT pg_size_pretty(pg_total_relation_size('$schema.requests'))") with indexes; best of 3, ms per \`switchyard report\` process:"
echo
echo "| report | primary key only | first migration's indexes | indexes now |"
echo "|---|---:|---:|---:|"
for r in "${reports[@]}"; do
  name=${r%%|*}
  echo "| $name | ${col[none|$name]} | ${col[before|$name]} | ${col[now|$name]} |"
done
