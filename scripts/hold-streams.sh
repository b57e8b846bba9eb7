#!/usr/bin/env bash
# Hold N slow streams through the gateway at once and print its RSS before
# and at the peak, and the difference per stream. Starts the bench mock
# (every event 300 ms apart, so a stream lasts ~7 s) and BIN serve on a
# throwaway config with the ledger on, opens 200 streams to warm up, then N
# over about a second, one connection each. With HEAPTRACK=1 the gateway
# runs under heaptrack (profile left in $OUT). Needs python3 and curl.
#
#   scripts/hold-streams.sh target/release/switchyard [N]
#
# Results and what they showed: BENCHMARKS.md.
set -euo pipefail
bin=$(realpath "$1"); n=${2:-2000}
out=${OUT:-/tmp/switchyard-hold}
rm -rf "$out"; mkdir -p "$out"
mock_port=18081; gw_port=14001
. "$(dirname "$0")/lib/mock-gateway.sh"
if [ "${HEAPTRACK:-0}" = 1 ]; then
    heaptrack -o "$out/heaptrack" "$bin" serve --config "$out/switchyard.toml" > "$out/gateway.log" 2>&1 &
else
    "$bin" serve --config "$out/switchyard.toml" > "$out/gateway.log" 2>&1 &
fi
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -sf -o /dev/null "http://127.0.0.1:$gw_port/health" && break; sleep 0.5; done
gw=$(pgrep -f "serve --config $out/switchyard.toml" | tail -1)
curl -sf -o /dev/null "http://127.0.0.1:$mock_port/_mock/knobs?drip_ms=300"
hold() {
    python3 - "$gw_port" "$1" "$gw" <<'PY'
import asyncio, json, sys
port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
body = json.dumps({"model": "bench", "max_tokens": 256, "stream": True,
    "messages": [{"role": "user", "content": "Summarise the plot of Hamlet in two sentences."}]}).encode()
head = ("POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        "x-api-key: k\r\nanthropic-version: 2023-06-01\r\n"
        f"content-length: {len(body)}\r\n\r\n").encode()
done = errors = 0
async def one():
    global done, errors
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(head + body)
        got = b""
        while not got.endswith(b"0\r\n\r\n"):
            chunk = await r.read(65536)
            if not chunk:
                break
            got += chunk
        done, errors = (done + 1, errors) if b"message_stop" in got else (done, errors + 1)
        w.close()
    except OSError:
        errors += 1
def rss():
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024
async def main():
    before = peak = rss()
    tasks = []
    for i in range(n):
        tasks.append(asyncio.create_task(one()))
        if i % 200 == 199:
            await asyncio.sleep(0.05)
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.2)
        peak = max(peak, rss())
    print(f"{n} streams: {done} completed, {errors} failed; gateway RSS {before:.1f} MB before, "
          f"{peak:.1f} MB at the peak, {(peak - before) * 1024 / n:.1f} KB a stream")
asyncio.run(main())
PY
}
hold 200 > /dev/null
hold "$n"
kill -INT "$gw"; sleep 2
