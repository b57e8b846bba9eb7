#!/usr/bin/env bash
# Run the real Claude Code CLI through switchyard against the probe's mock
# Anthropic upstream (../shared/probes/claude-code), then against mock
# OpenAI-compatible, Ollama and Bedrock upstreams, in Bedrock mode, and
# routed turn by turn across tiers, with a per-developer key, with guardrails
# (tests/claude_code). Installs Claude Code into
# ~/.cache/claude-code-probe when it is missing. Exit status: the probe's.
set -euo pipefail
source "$(dirname "$0")/common.sh"
probe=$(find_probe_dir)
ensure_claude_code "$probe"

cargo build --quiet --bin switchyard
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mock_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$(mktemp -t switchyard-probe.XXXXXX.log)"
client_key="sk-probe-gateway-key"
upstream_key="sk-ant-probe-upstream-key"

# The built-in default config: an anthropic provider from ANTHROPIC_API_KEY,
# pointed at the probe's mock; its ledger (switchyard.db) in a fresh folder.
ledger_dir="$(mktemp -d -t switchyard-probe-ledger.XXXXXX)"
default_env=(env -u ANTHROPIC_BASE_URL ANTHROPIC_API_KEY="$upstream_key"
  SWITCHYARD_ANTHROPIC_BASE_URL="http://127.0.0.1:$mock_port" SWITCHYARD_MASTER_KEY="$client_key")
(cd "$ledger_dir" && exec "${default_env[@]}" "$CARGO_TARGET_DIR/debug/switchyard" serve \
  --listen "127.0.0.1:$port") >"$log" 2>&1 &
gw=$!
trap 'kill $gw 2>/dev/null || true; wait $gw 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done

status=0
"$probe/run_probe.sh" --gateway "http://127.0.0.1:$port" --mock-port "$mock_port" \
  --client-key "$client_key" --expect-upstream-key "$upstream_key" || status=$?
"$probe/run_probe.sh" --gateway "http://127.0.0.1:$port" --mock-port "$mock_port" \
  --client-key "$client_key" --auth bearer --scenarios simple,tool --no-baseline || status=$?
# Claude Code's rows in the built-in default's ledger carry an exact price.
sleep 1 # the ledger writes in batches of at most a quarter second
(cd "$ledger_dir" && "${default_env[@]}" "$CARGO_TARGET_DIR/debug/switchyard" report daily \
  --format json) >"$ledger_dir/report.json" || status=$?
python3 - "$ledger_dir/report.json" <<'PY' || status=$?
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
r = json.load(open(sys.argv[1]))
ok = s["requests"] > 0 and float(s["cost_usd"]) > 0 and s["unpriced"] == 0 and s["estimated"] == 0
print(f'{"PASS" if ok else "FAIL"}  ledger of the built-in default: {s["requests"]} requests, '
      f'{s["count_calls"]} token counts, cost ${s["cost_usd"]}, unpriced {s["unpriced"]}, '
      f'estimated {s["estimated"]}; models {[m["name"] for m in r["models"]]}')
sys.exit(0 if ok else 1)
PY
# Claude Code on OpenAI-compatible and Ollama upstreams (translated both ways).
python3 "$root/tests/claude_code/run_translated.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# One Claude Code task routed turn by turn across Sonnet and Haiku (thinking
# signatures checked per model, prompt caching emulated on each side).
python3 "$root/tests/claude_code/run_tiers.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# A per-developer client key: answers, is attributed, and once revoked stops
# Claude Code at once with the gateway's message.
python3 "$root/tests/claude_code/run_keys.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# Sign-in with the identity provider: Claude Code's own gateway sign-in
# (scripted, then /login in a tmux terminal) against a mock OIDC provider;
# the group's managed settings, answers with the session token, the ledger
# names the person; a revoked sign-in stops Claude Code at once.
python3 "$root/tests/claude_code/run_signin.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# Guardrails: Claude Code reads a project's .env; the upstream gets a
# placeholder, the ledger says what was redacted.
python3 "$root/tests/claude_code/run_guard.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# Tool rules: a local model's dangerous calls escalate to Sonnet and never
# reach Claude Code; the ledger says why.
python3 "$root/tests/claude_code/run_tools_guard.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# Claude Code on a Bedrock upstream, and in its own Bedrock mode on the ingress.
python3 "$root/tests/claude_code/run_bedrock.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
if [ "$status" != 0 ]; then
  echo "--- gateway log ($log)"; tail -50 "$log"
fi
exit "$status"
