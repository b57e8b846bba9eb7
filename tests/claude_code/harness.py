"""Helpers shared by the Claude Code runners: ports, waiting for a mock's
port file and for the gateway's /health."""
import argparse
import os
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
