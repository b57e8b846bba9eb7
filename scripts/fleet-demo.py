#!/usr/bin/env python3
"""Three switchyard instances behind nginx, on one PostgreSQL ledger and one
Redis (the machine's), with the bench's mock upstream: mixed traffic (stream
and whole answers, Claude Code session headers) through nginx while one
instance is killed with SIGKILL half-way. Prints what clients saw and what
the ledger holds, and exits non-zero unless:

- clients lost at most the requests in flight on the killed instance
  (nginx sends everything after the kill to the other two);
- every request answered by an instance that was shut down cleanly has its
  ledger row (the killed one's unflushed rows are the only ones missing);
- every instance's /readyz said ready before the run;
- a provider one instance finds down is not tried by the others (its
  breaker opening is shared through Redis): requests whose first target is
  down, sent round-robin to the two surviving instances, reach that target
  once in all;
- Claude Code-shaped sessions whose turns land on different instances are
  routed as on one instance (a tool step after Sonnet's signed thinking
  moves to Haiku only when the instance knows the session: the router's
  memory is shared through Redis).

    python3 scripts/fleet-demo.py target/debug/switchyard [--seconds 6] [--clients 16]

Needs nginx (Debian's nginx-light), PostgreSQL on 127.0.0.1:5432 (database
test, trust auth) and Redis on 127.0.0.1:6379. The nginx and instance
configs it writes are the ones docs/FLEET.md describes.
"""
import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

KEY = "sk-fleet-demo-master-key-0123456789"
PG = "postgres://postgres@127.0.0.1:5432/test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, path="/livez", seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            if r.status == 200:
                return body
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"nothing answered 127.0.0.1:{port}{path}")


def psql(sql):
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "test", "-tAc", sql],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def instance_config(port, mock, schema, down):
    return f"""listen = "127.0.0.1:{port}"
master_key = "{KEY}"
database_url = "{PG}?options%5Bsearch_path%5D={schema}"
redis_url = "redis://127.0.0.1:6379"
shutdown_timeout = "5s"
shutdown_drain = "0s"
log_format = "json"

[health]
failures = 1
cooldown = "60s"

[providers.anthropic]
kind = "anthropic"
base_url = "http://{mock}"
api_key = "mock"

[providers.down]
kind = "anthropic"
base_url = "http://{down[0]}"
api_key = "mock"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
aliases = ["claude-*"]

[models.haiku]
provider = "anthropic"
id = "claude-haiku-4-5-20251001"

[models.down]
provider = "down"
id = "{down[1]}"

[tiers]
cheap = ["haiku"]
premium = ["sonnet"]

[[routes]]
name = "fallback"
match = {{ model = "claude-fallback" }}
targets = ["down", "sonnet"]

[[routes]]
name = "agent"
match = {{ model = "claude-opus-*" }}
auto = true
"""


def nginx_config(listen, ports, tmp):
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in ports)
    return f"""worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    upstream switchyard {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{listen};
        client_max_body_size 32m;
        location / {{
            proxy_pass http://switchyard;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 600s;
            # A request that could not reach an instance goes to the next;
            # one an instance already took is not sent twice.
            proxy_next_upstream error timeout;
            add_header X-Served-By $upstream_addr always;
        }}
    }}
}}
"""


def request(port, i):
    stream = i % 2 == 0
    body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64, "stream": stream,
                       "messages": [{"role": "user", "content": f"question {i}"}]})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/v1/messages", body, {
        "x-api-key": KEY, "content-type": "application/json", "anthropic-version": "2023-06-01",
        "x-claude-code-session-id": f"session-{i % 7}"})
    r = c.getresponse()
    data = r.read()
    if r.status != 200 or (stream and b"message_stop" not in data):
        raise OSError(f"status {r.status}")


PLAN = ("Design a migration plan for our 30 microservices from REST to gRPC with zero "
        "downtime; compare the trade-offs")


def agent_turn(port, session, messages):
    """One turn of a Claude Code-shaped conversation: (tier, reason, instance)."""
    body = json.dumps({"model": "claude-opus-5-5", "max_tokens": 32000, "stream": True,
                       "thinking": {"type": "adaptive"},
                       "system": [{"type": "text", "text": "You are Claude Code.",
                                   "cache_control": {"type": "ephemeral"}}],
                       "tools": [{"name": "Bash", "input_schema": {"type": "object"}}],
                       "messages": messages})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/v1/messages", body, {
        "x-api-key": KEY, "content-type": "application/json", "anthropic-version": "2023-06-01",
        "x-claude-code-session-id": session})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"agent turn: status {r.status}")
    return (r.getheader("x-switchyard-tier"), r.getheader("x-switchyard-reason"),
            r.getheader("x-served-by"))


def tool_round(n, signed_by, result):
    call = f"t{n}"
    return [{"role": "assistant", "content": [
                {"type": "thinking", "thinking": "...", "signature": f"SIG-{signed_by}"},
                {"type": "tool_use", "id": call, "name": "Bash", "input": {"command": call}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call,
                                          "content": result}]}]


def sessions_across_instances(port, count=6):
    """Agent loops through nginx: plan, a mechanical step, a failing test.
    Returns (turns whose instance differed from the previous turn's, turns
    routed as on one instance, all turns)."""
    moved, right, turns = 0, 0, 0
    for s in range(count):
        session = f"agent-{uuid.uuid4().hex[:8]}-{s}"
        messages = [{"role": "user", "content": PLAN}]
        want = []
        seen = [agent_turn(port, session, messages)]
        want.append("premium")
        time.sleep(0.05)  # the tool runs
        messages += tool_round(1, "sonnet", "service list")
        seen.append(agent_turn(port, session, messages))
        want.append("cheap")
        time.sleep(0.05)
        messages += tool_round(2, "haiku", "test result: FAILED. 1 passed; 1 failed")
        seen.append(agent_turn(port, session, messages))
        want.append("premium")
        for i, ((tier, reason, by), w) in enumerate(zip(seen, want)):
            turns += 1
            right += tier == w
            moved += i > 0 and by != seen[i - 1][2]
            if tier != w:
                print(f"  session {session} turn {i + 1}: {tier} (want {w}) on {by}: {reason}")
    return moved, right, turns


def tries_of_the_down_provider(port, logs, n=8):
    """Requests whose first target is down, one after another through nginx
    (round-robin over the survivors): how many attempts reached that target,
    from the instances' JSON logs."""
    for _ in range(n):
        body = json.dumps({"model": "claude-fallback", "max_tokens": 16,
                           "messages": [{"role": "user", "content": "hi"}]})
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("POST", "/v1/messages", body, {"x-api-key": KEY,
                                                 "content-type": "application/json"})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit(f"fallback request: status {r.status}")
        time.sleep(0.05)
    tries = 0
    for path in logs:
        with open(path) as f:
            for line in f:
                if '"upstream attempt failed"' in line and '"model":"down"' in line:
                    tries += 1
    return tries


def answered_in_log(path):
    """Requests an instance finished, from its JSON log's request lines."""
    n = 0
    with open(path) as f:
        for line in f:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("target") == "switchyard::request":
                n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="switchyard-fleet-")
    schema = f"sy_fleet_{uuid.uuid4().hex[:12]}"
    psql(f"CREATE SCHEMA {schema}")
    procs, nginx_started = [], False
    mock_port, lb_port = free_port(), free_port()
    ports = [free_port() for _ in range(3)]
    # Nothing listens there; the id is new each run (breakers are keyed by it).
    down = (f"127.0.0.1:{free_port()}", f"down-{uuid.uuid4().hex[:12]}")
    try:
        procs.append(subprocess.Popen([args.binary, "bench", "--mock-only", "--mock-listen",
                                       f"127.0.0.1:{mock_port}"], stderr=subprocess.DEVNULL))
        time.sleep(0.3)
        for n, port in enumerate(ports):
            path = os.path.join(tmp, f"instance-{n}.toml")
            with open(path, "w") as f:
                f.write(instance_config(port, f"127.0.0.1:{mock_port}", schema, down))
            log = open(os.path.join(tmp, f"instance-{n}.log"), "w")
            procs.append(subprocess.Popen([args.binary, "serve", "-c", path], stderr=log, stdout=log))
        ready = [json.loads(wait_http(p, "/readyz"))["status"] for p in ports]
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write(nginx_config(lb_port, ports, tmp))
        subprocess.run(["nginx", "-c", os.path.join(tmp, "nginx.conf"), "-p", tmp], check=True)
        nginx_started = True
        wait_http(lb_port, "/livez")

        sent, ok, failed = [0], [0], [0]
        lock, stop = threading.Lock(), threading.Event()

        def client(c):
            i = c
            while not stop.is_set():
                try:
                    request(lb_port, i)
                    outcome = ok
                except (OSError, http.client.HTTPException):
                    outcome = failed
                with lock:
                    sent[0] += 1
                    outcome[0] += 1
                i += args.clients

        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(args.seconds / 2)
        victim = procs[2]  # instance 1
        victim.send_signal(signal.SIGKILL)
        killed_at = sent[0]
        time.sleep(args.seconds / 2)
        stop.set()
        for t in threads:
            t.join()
        moved, right, turns = sessions_across_instances(lb_port)
        down_tries = tries_of_the_down_provider(
            lb_port, [os.path.join(tmp, f"instance-{n}.log") for n in (0, 2)])
        for p in (procs[1], procs[3]):
            p.send_signal(signal.SIGTERM)
        for p in (procs[1], procs[3]):
            p.wait(timeout=20)
        logged = [answered_in_log(os.path.join(tmp, f"instance-{n}.log")) for n in range(3)]
        rows = int(psql(f"SELECT count(*) FROM {schema}.requests"))
        served = int(psql(f"SELECT count(*) FROM {schema}.requests WHERE status = 200"))
        print(f"instances ready before the run: {ready}")
        print(f"requests through nginx: {sent[0]} ({killed_at} before instance 1 was killed)")
        print(f"answered 200: {ok[0]}, failed as clients saw them: {failed[0]} "
              f"(at most {args.clients} were in flight)")
        survivors = logged[0] + logged[2]
        print(f"requests each instance logged (JSON logs): {logged} (instance 1 killed)")
        print(f"ledger rows: {rows} ({served} with status 200); the survivors' {survivors} all "
              f"included; missing: {sum(logged) - rows} (the killed instance's unflushed rows)")
        good = (all(r == "ready" for r in ready) and failed[0] <= args.clients
                and survivors <= rows <= sum(logged) and logged[0] > 0 and logged[2] > 0)
        print(f"agent sessions through nginx: {turns} turns, {moved} landed on another instance "
              f"than the turn before; routed as on one instance: {right} of {turns}")
        print(f"a provider that is down, 8 requests over the two survivors: tried {down_tries} "
              f"time(s) in all (each instance alone would have tried it once)")
        good = good and right == turns and moved > 0 and down_tries == 1
        print("fleet demo:", "ok" if good else "FAILED")
        return 0 if good else 1
    finally:
        if nginx_started:
            subprocess.run(["nginx", "-c", os.path.join(tmp, "nginx.conf"), "-p", tmp, "-s", "stop"],
                           stderr=subprocess.DEVNULL)
        for p in procs:
            if p.poll() is None:
                p.kill()
        psql(f"DROP SCHEMA {schema} CASCADE")


if __name__ == "__main__":
    sys.exit(main())
