#!/usr/bin/env bash
# Run the real Claude Code CLI through switchyard against the probe's mock
# Anthropic upstream (../shared/probes/claude-code), then against mock
# OpenAI-compatible, Ollama and Bedrock upstreams, and in Bedrock mode
# (tests/claude_code). Installs Claude Code into
# ~/.cache/claude-code-probe when it is missing. Exit status: the probe's.
set -euo pipefail
source "$(dirname "$0")/common.sh"
probe=$(find_probe_dir)
version="${CLAUDE_CODE_VERSION:-2.1.332}"
export CLAUDE_CODE_PREFIX="${CLAUDE_CODE_PREFIX:-$HOME/.cache/claude-code-probe}"

claude="$CLAUDE_CODE_PREFIX/node_modules/.bin/claude"
if [ ! -x "$claude" ] || ! "$claude" --version 2>/dev/null | grep -q "^$version "; then
  echo "installing Claude Code $version into $CLAUDE_CODE_PREFIX"
  "$probe/run_probe.sh" --install "$version"
fi

cargo build --quiet --bin switchyard
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mock_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log="$(mktemp -t switchyard-probe.XXXXXX.log)"
client_key="sk-probe-gateway-key"
upstream_key="sk-ant-probe-upstream-key"

# The built-in default config: an anthropic provider from ANTHROPIC_API_KEY,
# pointed at the probe's mock.
env -u ANTHROPIC_BASE_URL \
  ANTHROPIC_API_KEY="$upstream_key" \
  SWITCHYARD_ANTHROPIC_BASE_URL="http://127.0.0.1:$mock_port" \
  SWITCHYARD_MASTER_KEY="$client_key" \
  "$CARGO_TARGET_DIR/debug/switchyard" serve --listen "127.0.0.1:$port" >"$log" 2>&1 &
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
# Claude Code on OpenAI-compatible and Ollama upstreams (translated both ways).
python3 "$root/tests/claude_code/run_translated.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
# Claude Code on a Bedrock upstream, and in its own Bedrock mode on the ingress.
python3 "$root/tests/claude_code/run_bedrock.py" --switchyard "$CARGO_TARGET_DIR/debug/switchyard" \
  --probe-dir "$probe" --claude "$claude" || status=$?
if [ "$status" != 0 ]; then
  echo "--- gateway log ($log)"; tail -50 "$log"
fi
exit "$status"
