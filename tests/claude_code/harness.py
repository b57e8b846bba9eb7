"""Helpers shared by the Claude Code runners: their arguments, ports,
starting a mock upstream and the gateway (waiting for the mock's port file
and the gateway's /health), reading the ledger, and the PASS/FAIL report."""
import argparse
import json
import os
import subprocess
import sys
import socket
import tempfile
import time
import urllib.request


def runner_setup(prefix):
    """The arguments every runner takes (--switchyard, --probe-dir,
    --claude, --out), the shared probe module, and the artefacts folder."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchyard", required=True)
    ap.add_argument("--probe-dir", required=True)
    ap.add_argument("--claude", required=True)
    ap.add_argument("--out")
    args = ap.parse_args()
    sys.path.insert(0, args.probe_dir)
    import probe  # the shared probe's runner and checks

    out = os.path.abspath(args.out or tempfile.mkdtemp(prefix=prefix))
    os.makedirs(out, exist_ok=True)
    return args, probe, out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_file(path, proc, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return open(path).read().strip()
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"{path} never appeared")


def wait_health(url, proc, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url + "/health", timeout=1).read()
            return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    raise SystemExit("switchyard did not become healthy")


def start_mock(out, script, *extra):
    """Start a mock upstream script that writes its port to a file; the
    process and its port."""
    port_file = os.path.join(out, "mock.port")
    proc = subprocess.Popen([sys.executable, script, "--port-file", port_file, *extra],
                            stdout=open(os.path.join(out, "mock.log"), "w"), stderr=subprocess.STDOUT)
    return proc, wait_file(port_file, proc)


def start_gateway(args, out, config_text):
    """Write `config_text` (its listen address filled in) and serve it; the
    process, the config path and the gateway's URL once healthy."""
    port = free_port()
    config = os.path.join(out, "switchyard.toml")
    with open(config, "w") as f:
        f.write(f'listen = "127.0.0.1:{port}"\n' + config_text)
    proc = subprocess.Popen([args.switchyard, "serve", "--config", config],
                            stdout=open(os.path.join(out, "gateway.log"), "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_health(url, proc)
    return proc, config, url


def claude_options(args, key, model=None, timeout=180, auth="x-api-key", env=None):
    """What the probe's run_claude takes: how Claude Code reaches the gateway."""
    return argparse.Namespace(auth=auth, client_key=key, env=env, claude=args.claude,
                              model=model, debug_logs=False, timeout=timeout)


def start_tiers_gateway(args, out, key, capture, sections):
    """mock_tiers.py capturing to `capture`, and a gateway with master key
    `key`, a SQLite ledger in `out` and `sections(mock_port)` (TOML). Returns
    (mock, mock_port, gateway, config path, gateway URL)."""
    here = os.path.dirname(os.path.abspath(__file__))
    mock, mock_port = start_mock(out, os.path.join(here, "mock_tiers.py"), "--capture", capture)
    head = f'master_key = "{key}"\ndatabase_url = "sqlite://{out}/ledger.db"\n\n'
    gw, config, url = start_gateway(args, out, head + sections(mock_port))
    return mock, mock_port, gw, config, url


def ledger_rows(args, config):
    """Every ledger row, through `switchyard export`."""
    out = subprocess.run([args.switchyard, "export", "--config", config, "--format", "jsonl",
                          "--from", "2000-01-01", "--to", "2100-01-01"],
                         capture_output=True, text=True, check=False).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def stop(*procs):
    for p in procs:
        if p and p.poll() is None:
            p.terminate()
            p.wait(10)


def report(label, checks):
    """Print PASS/FAIL per check and exit 0 only when all passed."""
    failures = 0
    for name, ok, detail in checks:
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {label}: {name}: {detail}", flush=True)
    print(f"{label}: {len(checks) - failures} passed, {failures} failed")
    sys.exit(1 if failures or not checks else 0)
