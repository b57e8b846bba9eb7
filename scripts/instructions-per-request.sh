#!/usr/bin/env bash
# Count the instructions the gateway spends per request, with callgrind:
# repeatable where timed runs on a small shared machine move by 10-20%.
# Starts the bench mock and BIN serve (under valgrind) on a throwaway
# config, sends 200 requests to warm up, zeroes the counters, sends N
# requests one at a time, dumps, and prints thousands of instructions per
# request: the runtime threads less the ledger writer task (the request
# path), the writer task, and SQLite's statements (these two depend on how
# rows batch, so they are given apart). Needs valgrind and python3.
#
#   scripts/instructions-per-request.sh target/release/switchyard [json|stream] [N]
#
# Leaves the profile in $OUT (default /tmp/switchyard-callgrind) for
# callgrind_annotate. Results and what they showed: BENCHMARKS.md.
set -euo pipefail
bin=$(realpath "$1"); kind=${2:-json}; n=${3:-1000}
out=${OUT:-/tmp/switchyard-callgrind}
rm -rf "$out"; mkdir -p "$out"
mock_port=18080; gw_port=14000
. "$(dirname "$0")/lib/mock-gateway.sh"
cat >> "$out/switchyard.toml" <<TOML

[cache]
exact = false
TOML
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$bin" serve --config "$out/switchyard.toml" \
    > /dev/null 2> "$out/gateway.log" &
gw=$!
trap 'kill $gw $mock 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf -o /dev/null "http://127.0.0.1:$gw_port/health" && break; sleep 0.5; done
send() {
    python3 - "$gw_port" "$1" "$kind" <<'PY'
import http.client, json, sys
port, n, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
body = json.dumps({"model": "bench", "max_tokens": 256, "stream": kind == "stream",
    "messages": [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}]}).encode()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for _ in range(n):
    c.request("POST", "/v1/messages", body, {"content-type": "application/json", "x-api-key": "k",
              "anthropic-version": "2023-06-01"})
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"status {r.status}")
PY
}
send 200
callgrind_control -z $gw > /dev/null 2>&1
send "$n"
sleep 1
callgrind_control -d $gw > /dev/null 2>&1
sleep 1
profile="$out/cg.out.1"
callgrind_annotate --inclusive=yes --threshold=100 "$profile" > "$out/inclusive.txt" 2>/dev/null
first() { grep -m1 -F "$1" "$out/inclusive.txt" | awk '{gsub(",","",$1); print $1}'; }
runtime=$(first "tokio::runtime::scheduler::multi_thread::worker::run ")
writer=$(first "switchyard::usage::writer::run::{{closure}} ")
sqlite=$(first "ExecuteIter as core::iter")
k() { echo $(( ${1:-0} / n / 1000 )).$(( ${1:-0} / n / 100 % 10 ))k; }
echo "$kind, $n requests: request path $(k $((runtime - writer))), ledger writer task $(k "$writer"), SQLite statements $(k "$sqlite") instructions a request"
echo "profile: $profile (callgrind_annotate --inclusive=yes $profile)"
