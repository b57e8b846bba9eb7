#!/usr/bin/env bash
# Claude Code compatibility across releases. For each version (default:
# releases that broke other gateways, the pinned one, and the latest on
# npm), install it into ~/.cache/claude-code-probe/versions/VERSION (once),
# run the probe (../shared/probes/claude-code) through switchyard's built-in
# default config against the probe's mock Anthropic upstream, and once
# straight to the mock, and print a table: version, checks passed, checks
# that fail without a gateway too (the version or the probe's mock, not
# the gateway), and whether switchyard adds any failure.
#
#   scripts/claude-code-matrix.sh                 # the default list
#   scripts/claude-code-matrix.sh 2.1.332 latest  # some versions
#
# Exit status: 0 when no version fails a check through switchyard that it
# passes without a gateway.
set -euo pipefail
source "$(dirname "$0")/common.sh"
probe=$(find_probe_dir)
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then
  versions=(2.1.23 2.1.69 2.1.79 2.1.154 2.1.168 2.1.212 2.1.332 latest)
fi
cargo build --quiet --bin switchyard
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
client_key="sk-probe-gateway-key"
upstream_key="sk-ant-probe-upstream-key"
rows=()
status=0
for asked in "${versions[@]}"; do
  version="$asked"
  if [ "$asked" = latest ]; then
    version=$(npm view @anthropic-ai/claude-code version 2>/dev/null || true)
    if [ -z "$version" ]; then
      rows+=("| latest | - | - | - | skipped: the npm registry did not answer |")
      continue
    fi
  fi
  prefix="$HOME/.cache/claude-code-probe/versions/$version"
  claude="$prefix/node_modules/.bin/claude"
  if [ ! -x "$claude" ]; then
    echo "installing Claude Code $version"
    if ! CLAUDE_CODE_PREFIX="$prefix" "$probe/run_probe.sh" --install "$version" >/dev/null 2>&1; then
      rows+=("| $asked ($version) | - | - | - | not installable from npm |")
      status=1
      continue
    fi
  fi
  port=$(free_port)
  mock_port=$(free_port)
  work="$(mktemp -d -t switchyard-matrix.XXXXXX)"
  (cd "$work" && exec env -u ANTHROPIC_BASE_URL ANTHROPIC_API_KEY="$upstream_key" \
    SWITCHYARD_ANTHROPIC_BASE_URL="http://127.0.0.1:$mock_port" SWITCHYARD_MASTER_KEY="$client_key" \
    "$CARGO_TARGET_DIR/debug/switchyard" serve --listen "127.0.0.1:$port") >"$work/gateway.log" 2>&1 &
  gw=$!
  for _ in $(seq 50); do
    curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.1
  done
  CLAUDE_BIN="$claude" "$probe/run_probe.sh" --gateway "http://127.0.0.1:$port" --mock-port "$mock_port" \
    --client-key "$client_key" --expect-upstream-key "$upstream_key" --out "$work/probe" \
    >"$work/probe.log" 2>&1 || true
  kill "$gw" 2>/dev/null || true
  wait "$gw" 2>/dev/null || true
  # The same version straight to the mock: what the probe cannot check on
  # it whatever the gateway (features it lacks, shapes the mock does not
  # script).
  CLAUDE_BIN="$claude" "$probe/run_probe.sh" --out "$work/direct" >"$work/direct.log" 2>&1 || true
  checks() { grep "^$2 " "$1" | cut -c7- | cut -d: -f1 | sed 's/ \[extended\]//' | sort | tr '\n' ' ' || true; }
  result=$(grep '^RESULT' "$work/probe.log" | tail -1)
  required=$(sed -n 's/.*required \([0-9]*\/[0-9]*\) passed.*/\1/p' <<<"$result")
  extended=$(sed -n 's/.*extended \([0-9]*\/[0-9]*\) passed.*/\1/p' <<<"$result")
  failed=$(checks "$work/probe.log" FAIL)
  direct_failed=$(checks "$work/direct.log" FAIL)
  only_gateway=$(comm -23 <(tr ' ' '\n' <<<"$failed" | sed '/^$/d' | sort) \
    <(tr ' ' '\n' <<<"$direct_failed" | sed '/^$/d' | sort) | tr '\n' ' ')
  if [ -z "$result" ]; then
    verdict="no result (log: $work/probe.log)"
    status=1
  elif [ -n "$only_gateway" ]; then
    verdict="broken through the gateway: $only_gateway(log: $work/probe.log)"
    status=1
  else
    verdict="works: same as direct"
  fi
  label="$asked"
  if [ "$asked" != "$version" ]; then label="$asked ($version)"; fi
  rows+=("| $label | ${required:--} | ${extended:--} | ${direct_failed:-none} | $verdict |")
done
echo
echo "| Claude Code | required checks | extended checks | failing without a gateway too | through switchyard |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
exit $status
