#!/usr/bin/env python3
"""SIGTERM with the ledger's PostgreSQL down: the gateway still exits within
`shutdown_timeout` + 5 s, the rows it could not write go to a spool file
beside its config, and the next start writes them. Uses a private
PostgreSQL (initdb in a temporary directory, run as the `postgres` user)
so the machine's own is never touched.

    python3 scripts/shutdown-demo.py target/release/switchyard   (KEEP=1 keeps its directory)

Prints what happened and the row counts; exits 0 when no row was lost.
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

KEY = "sk-shutdown-demo-master-key-012345"
PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*args):
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + list(args), check=True, capture_output=True, text=True)


def ask(port, n):
    ok = 0
    for i in range(n):
        body = ('{"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi %d"}]}' % i).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/messages", body,
                                     {"x-api-key": KEY, "content-type": "application/json"})
        try:
            ok += urllib.request.urlopen(req, timeout=10).status == 200
        except OSError:
            pass
    return ok


def rows(pg_port):
    out = as_postgres(f"{PG_BIN}/psql", "-h", "127.0.0.1", "-p", str(pg_port), "-U", "postgres", "-tAc",
                      "SELECT count(*) FROM requests")
    return int(out.stdout.strip())


def start_gateway(binary, cfg, log, port):
    gw = subprocess.Popen([binary, "serve", "--config", cfg], stdout=log, stderr=log)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return gw
        except OSError:
            time.sleep(0.1)
    sys.exit("the gateway did not start")


def main():
    binary = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="switchyard-shutdown-")
    os.chmod(tmp, 0o777)
    pg_dir, pg_port, mock, port = os.path.join(tmp, "pg"), free_port(), free_port(), free_port()
    as_postgres(f"{PG_BIN}/initdb", "-D", pg_dir, "-A", "trust", "-U", "postgres")
    pg = lambda *a: as_postgres(f"{PG_BIN}/pg_ctl", "-D", pg_dir, "-w", *a)  # noqa: E731
    pg_opts = f"-p {pg_port} -k {tmp} -c listen_addresses=127.0.0.1"
    pg("-o", pg_opts, "-l", os.path.join(tmp, "pg.log"), "start")
    cfg = os.path.join(tmp, "switchyard.toml")
    open(cfg, "w").write(f'''listen = "127.0.0.1:{port}"
master_key = "{KEY}"
database_url = "postgres://postgres@127.0.0.1:{pg_port}/postgres"
shutdown_timeout = "5s"
[providers.mock]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock}"
api_key = "k"
[models.claude]
provider = "mock"
aliases = ["claude-*"]
''')
    mock_proc = subprocess.Popen([binary, "bench", "--mock-only", "--mock-listen", f"127.0.0.1:{mock}"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log_path = os.path.join(tmp, "gateway.log")
    log = open(log_path, "w")
    try:
        time.sleep(0.3)
        gw = start_gateway(binary, cfg, log, port)
        first = ask(port, 20)
        time.sleep(1.5)
        before = rows(pg_port)
        pg("-m", "immediate", "stop")
        second = ask(port, 30)
        time.sleep(0.5)
        started = time.monotonic()
        gw.send_signal(signal.SIGTERM)
        try:
            gw.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gw.kill()
            sys.exit("the gateway did not exit within 30 s of SIGTERM")
        took = time.monotonic() - started
        spools = [p for p in os.listdir(tmp) if "spool" in p]
        spooled = sum(sum(1 for _ in open(os.path.join(tmp, p))) for p in spools)
        pg("-o", pg_opts, "-l", os.path.join(tmp, "pg.log"), "start")
        gw = start_gateway(binary, cfg, log, port)
        time.sleep(1.5)
        after = rows(pg_port)
        gw.send_signal(signal.SIGTERM)
        gw.wait(timeout=30)
        log.flush()
        print(f"{first} requests answered with PostgreSQL up: {before} rows")
        print(f"PostgreSQL stopped; {second} more requests answered; SIGTERM -> exit in {took:.1f} s "
              f"(shutdown_timeout 5 s); spool {spools} with {spooled} lines")
        print(f"PostgreSQL back, gateway restarted: {after} rows (expected {first + second}); "
              f"spool left: {[p for p in os.listdir(tmp) if 'spool' in p]}")
        for line in open(log_path):
            if "spool" in line:
                print("gateway log:", line.strip()[-220:])
        return 0 if after == first + second and took < 10 else 1
    finally:
        mock_proc.terminate()
        try:
            pg("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        if os.environ.get("KEEP") is None:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept", tmp)


sys.exit(main())
