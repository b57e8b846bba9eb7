#!/usr/bin/env python3
"""Run the real Claude Code CLI through switchyard with a per-developer
client key (ANTHROPIC_AUTH_TOKEN), against the probe's mock Anthropic
upstream.

Checked: a key made with `switchyard keys create` answers Claude Code and
the ledger row names its user and team; after `switchyard keys revoke`,
Claude Code stops within seconds (it retries a plain 401 for over a
minute) and shows the gateway's message; a made-up key is refused the same
way. Prints PASS/FAIL lines; exit status 0 when all pass.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ledger_rows, report, runner_setup, start_gateway, start_mock, stop  # noqa: E402

MASTER = "sk-switchyard-keys-probe-master"


def keys(args, config, *rest):
    return subprocess.run([args.switchyard, "keys", "--config", config, *rest],
                          capture_output=True, text=True, check=False)


def main():
    args, probe, out = runner_setup("cc-keys-")
    gw = mock = None
    checks = []
    try:
        mock, mock_port = start_mock(out, os.path.join(args.probe_dir, "mock_anthropic.py"),
                                     "--capture-dir", os.path.join(out, "captures"))
        config_text = f'''master_key = "{MASTER}"
database_url = "sqlite://{out}/ledger.db"

[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock_port}"
api_key = "sk-ant-keys-upstream"

[models.claude]
provider = "anthropic"
aliases = ["claude-*"]
'''
        # The key is made before the gateway starts: it reads the table at start.
        config = os.path.join(out, "switchyard.toml")
        with open(config, "w") as f:
            f.write(config_text)
        made = keys(args, config, "create", "--name", "dana laptop", "--user", "dana", "--team", "web", "--json")
        key = json.loads(made.stdout)["key"] if made.returncode == 0 else ""
        key_id = json.loads(made.stdout)["id"] if made.returncode == 0 else ""
        checks.append(("keys create prints the key once", key.startswith("sk-sy-"), made.stderr.strip()[:120]))
        gw, config, url = start_gateway(args, out, config_text)
        print(f"INFO  gateway {url} -> probe mock on :{mock_port}; artefacts {out}", flush=True)

        def claude(name, client_key, timeout):
            ns = argparse.Namespace(auth="bearer", client_key=client_key, env=None, claude=args.claude,
                                    model=None, debug_logs=False, timeout=timeout)
            return probe.run_claude(ns, name, "Say hello. PROBE_SIMPLE", [], url, out)

        run = claude("keyed", key, 120)
        problems = probe.run_ok(run)
        checks.append(("Claude Code answers with a per-user key", not problems and "PROBE" in probe.result_text(run),
                       f"{probe.result_text(run)[:60]!r} {problems or ''}"))

        gone = keys(args, config, "revoke", key_id)
        checks.append(("keys revoke", gone.returncode == 0, (gone.stdout + gone.stderr).strip()[:120]))
        time.sleep(2.5)  # the gateway reads key changes every second
        for name, client_key in (("revoked", key), ("unknown", "sk-sy-made-up-key")):
            t0 = time.monotonic()
            run = claude(name, client_key, 60)
            took = time.monotonic() - t0
            shown = json.dumps(run["result"] or {}) + run["stderr"]
            want = "revoked" if name == "revoked" else "invalid or missing gateway key"
            checks.append((f"Claude Code stops promptly with a {name} key and shows why",
                           not run["timed_out"] and run["rc"] != 0 and took < 15 and want in shown,
                           f"rc={run['rc']} {took:.1f}s {shown[:160]!r}"))
        stop(gw)
        rows = ledger_rows(args, config)
        mine = [r for r in rows if r.get("key_id") == key_id]
        checks.append(("the ledger names the key's user and team",
                       bool(mine) and all(r.get("user_id") == "dana" and r.get("team") == "web" for r in mine),
                       f"{len(mine)} rows of {len(rows)}"))
        log = open(os.path.join(out, "gateway.log"), encoding="utf-8", errors="replace").read()
        db = open(os.path.join(out, "ledger.db"), "rb").read()
        checks.append(("the key is in neither the log nor the database",
                       key[6:] not in log and key[6:].encode() not in db, ""))
    finally:
        stop(gw, mock)
    report("keys", checks)


if __name__ == "__main__":
    main()
