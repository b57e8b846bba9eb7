#!/usr/bin/env bash
# The new-user path, timed: from a fresh clone, `switchyard init --yes`
# (with a mock Ollama and mock AWS credentials, Bedrock a SigV4-checking
# mock), `switchyard serve`, and the real Claude Code CLI answering through
# `switchyard claude -p …`; then the daily log and the decision matrix
# with the setup time measured from the ledger. The build is not timed.
# Nothing outside 127.0.0.1 is reached; a throwaway HOME holds the config's
# ledger. Exit status: non-zero when a step fails.
set -euo pipefail
source "$(dirname "$0")/common.sh"
probe=$(find_probe_dir)
version="${CLAUDE_CODE_VERSION:-2.1.332}"
ensure_claude_code "$probe"

work="$(mktemp -d -t switchyard-walkthrough.XXXXXX)"
git clone -q "$root" "$work/repo"
(cd "$work/repo" && cargo build --quiet --bin switchyard)   # not timed
sy="$CARGO_TARGET_DIR/debug/switchyard"

# Mock upstreams: Ollama (one model that takes tools) and Bedrock.
access=AKIAWALKTHROUGH0001 secret=walkthrough-secret-key-0000000000000000
python3 "$root/tests/claude_code/mock_local.py" --probe-dir "$probe" --port-file "$work/ollama.port" \
  --capture "$work/ollama.jsonl" --delay 0.01 >"$work/ollama.log" 2>&1 &
pids=($!)
python3 "$root/tests/claude_code/mock_bedrock.py" --probe-dir "$probe" --port-file "$work/bedrock.port" \
  --capture "$work/bedrock.jsonl" --access-key "$access" --secret-key "$secret" >"$work/bedrock.log" 2>&1 &
pids+=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for f in ollama bedrock; do
  for _ in $(seq 100); do [ -s "$work/$f.port" ] && break; sleep 0.05; done
done

# A new user's shell: their own HOME, AWS keys in the environment, no Anthropic key.
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share"
mkdir -p "$HOME"
unset ANTHROPIC_API_KEY ANTHROPIC_BASE_URL ANTHROPIC_AUTH_TOKEN SWITCHYARD_CONFIG SWITCHYARD_MASTER_KEY AWS_PROFILE
export AWS_ACCESS_KEY_ID="$access" AWS_SECRET_ACCESS_KEY="$secret" AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME="http://127.0.0.1:$(cat "$work/bedrock.port")"
export OLLAMA_HOST="127.0.0.1:$(cat "$work/ollama.port")"
cd "$work/repo"

now() { python3 -c 'import time; print(time.monotonic())'; }
declare -a steps
step() { # NAME START
  local t; t=$(python3 -c "import time; print(f'{time.monotonic() - $2:.1f}')")
  steps+=("$1|$t")
}

t=$(now); start=$t
"$sy" init --yes
step "switchyard init --yes" "$t"

t=$(now)
"$sy" check-config
step "switchyard check-config" "$t"

t=$(now)
"$sy" serve >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fsS http://127.0.0.1:4000/health >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS http://127.0.0.1:4000/health >/dev/null
step "switchyard serve (until /health answers)" "$t"

t=$(now)
answer=$("$sy" claude --claude "$claude" -p "PROBE_SIMPLE: say hello" </dev/null)
echo "Claude Code answered: $answer"
grep -q PROBE_HELLO_OK <<<"$answer"
step "switchyard claude -p (real Claude Code $version)" "$t"
total=$(python3 -c "import time; print(f'{time.monotonic() - $start:.1f}')")

sleep 1   # the ledger writes in batches of at most a quarter second
"$sy" report daily --template log
"$sy" report decision --ux 4 | tee "$work/decision.md"
grep -q "| Setup time | 15% | <4 h | 0" "$work/decision.md"

echo
echo "| step | seconds |"
echo "|---|---|"
for s in "${steps[@]}"; do echo "| ${s%%|*} | ${s##*|} |"; done
echo "| total (build excluded) | $total |"
python3 - "$work/bedrock.jsonl" "$work/ollama.jsonl" <<'PY'
import json, sys
counts = [sum(1 for _ in open(f)) if __import__("os").path.exists(f) else 0 for f in sys.argv[1:]]
print(f"upstream requests: Bedrock mock {counts[0]}, Ollama mock {counts[1]}")
PY
