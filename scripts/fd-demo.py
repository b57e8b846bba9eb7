#!/usr/bin/env python3
"""Idle and slow clients cannot lock real ones out: a gateway started with a
1,024 open-file limit (systemd's default) faces 2,000 sockets that send
nothing and 200 clients that dribble their headers a byte a second, while a
real client keeps asking. Prints the real requests' latency (each on a new
connection) before and during the flood, and how the gateway coped.

    python3 scripts/fd-demo.py target/release/switchyard [--idle 2000] [--slow 200]

A demonstration, not a test: it prints numbers and exits 0 when every real
request was answered.
"""
import argparse
import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KEY = "sk-fd-demo-master-key-0123456789"
BODY = b'{"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'


async def real_request(port):
    """One request on a new connection; seconds taken, or None on failure."""
    started = time.perf_counter()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        head = (f"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(BODY)}\r\nconnection: close\r\n\r\n")
        w.write(head.encode() + BODY)
        await w.drain()
        data = await asyncio.wait_for(r.read(), 5)
        w.close()
        return time.perf_counter() - started if data.startswith(b"HTTP/1.1 200") else None
    except (OSError, asyncio.TimeoutError):
        return None


async def measure(port, n):
    times = []
    failed = 0
    for _ in range(n):
        t = await real_request(port)
        if t is None:
            failed += 1
        else:
            times.append(t)
        await asyncio.sleep(0.005)
    times.sort()
    pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000 if times else float("nan")  # noqa: E731
    return pick(0.5), pick(0.99), failed


async def idle_socket(port, held, stop):
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        held.append(w)
        await stop.wait()
        w.close()
    except OSError:
        pass


async def slow_headers(port, stop, closed):
    """Dribble a request's headers, a byte a second, until the gateway hangs up."""
    line = b"GET /health HTTP/1.1\r\nhost: x\r\nx-slow: " + b"a" * 4096
    try:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        for b in line:
            if stop.is_set():
                break
            w.write(bytes([b]))
            await w.drain()
            await asyncio.sleep(1)
        w.close()
    except OSError:
        closed.append(1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--slow", type=int, default=200)
    ap.add_argument("--requests", type=int, default=300)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    tmp = tempfile.mkdtemp(prefix="switchyard-fd-")
    mock, port = free_port(), free_port()
    cfg = os.path.join(tmp, "switchyard.toml")
    open(cfg, "w").write(f'''listen = "127.0.0.1:{port}"
master_key = "{KEY}"
database_url = "sqlite://{tmp}/ledger.db"
[clients]
header_timeout = "30s"
[providers.mock]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock}"
api_key = "k"
[models.claude]
provider = "mock"
aliases = ["claude-*"]
''')
    procs = [subprocess.Popen([a.binary, "bench", "--mock-only", "--mock-listen", f"127.0.0.1:{mock}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    log = open(os.path.join(tmp, "gateway.log"), "w")
    procs.append(subprocess.Popen(["bash", "-c", f'ulimit -n 1024 && exec "$0" serve --config "$1"', a.binary, cfg],
                                  stdout=log, stderr=log))
    try:
        for _ in range(100):
            if await real_request(port) is not None:
                break
            await asyncio.sleep(0.1)
        before = await measure(port, a.requests)
        stop, held, closed = asyncio.Event(), [], []
        tasks = [asyncio.create_task(idle_socket(port, held, stop)) for _ in range(a.idle)]
        tasks += [asyncio.create_task(slow_headers(port, stop, closed)) for _ in range(a.slow)]
        await asyncio.sleep(3)
        during = await measure(port, a.requests)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        limit = open(f"/proc/{procs[1].pid}/limits").read().split("Max open files")[1].split()[0]
        log.flush()
        lines = open(os.path.join(tmp, "gateway.log")).read().splitlines()
        print(f"gateway open-file limit {limit}; {a.idle} idle sockets and {a.slow} slow-header clients")
        print(f"real requests, new connection each: before p50 {before[0]:.2f} ms p99 {before[1]:.2f} ms "
              f"({before[2]} failed); during p50 {during[0]:.2f} ms p99 {during[1]:.2f} ms ({during[2]} failed)")
        for line in lines:
            if "connection" in line and ("limit" in line or "capped" in line):
                print("gateway log:", line[-200:])
        return 0 if before[2] == 0 and during[2] == 0 else 1
    finally:
        for p in procs:
            p.terminate()
            p.wait()


sys.exit(asyncio.run(main()))
