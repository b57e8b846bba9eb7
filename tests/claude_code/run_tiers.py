#!/usr/bin/env python3
"""Run the real Claude Code CLI through switchyard with per-turn routing:
one task whose turns are served by different tiers, against mock_tiers.py
(an Anthropic upstream that checks thinking signatures per model and
emulates prompt caching).

The task is premium work, so its planning turn goes to Sonnet; the next
two tool steps (passing commands) are mechanical and go to Haiku; the third
command fails, so the turn after it goes back to Sonnet. Checked: Claude
Code finishes the task, the upstream saw the models in that order and never
refused a signature, and the ledger shows each turn's tier and prompt-cache
reads on both models. Prints PASS/FAIL lines; exit status 0 when all pass.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import free_port, runner_setup, wait_file, wait_health  # noqa: E402

KEY = "sk-switchyard-tiers-probe"
PROMPT = ("Design a zero-downtime migration plan for our 30 microservices from REST to gRPC and compare "
          "the trade-offs; first run the probe steps I set up. PROBE_TIERS")


def main():
    args, probe, out = runner_setup("cc-tiers-")
    capture = os.path.join(out, "upstream.jsonl")
    port_file = os.path.join(out, "mock.port")
    mock = subprocess.Popen([sys.executable, os.path.join(HERE, "mock_tiers.py"), "--port-file", port_file,
                             "--capture", capture],
                            stdout=open(os.path.join(out, "mock.log"), "w"), stderr=subprocess.STDOUT)
    gw = None
    checks = []
    try:
        mock_port = wait_file(port_file, mock)
        gw_port = free_port()
        config = os.path.join(out, "switchyard.toml")
        with open(config, "w") as f:
            f.write(f'''listen = "127.0.0.1:{gw_port}"
master_key = "{KEY}"
database_url = "sqlite://{out}/ledger.db"

[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock_port}"
api_key = "sk-ant-tiers-upstream"

[models.haiku]
provider = "anthropic"
id = "claude-haiku-5-5"
capabilities = ["tools", "vision", "thinking"]

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-5-5"
capabilities = ["tools", "vision", "thinking"]

[tiers]
local = ["haiku"]
cheap = ["haiku"]
premium = ["sonnet"]
baseline = "sonnet"
''')
        gw = subprocess.Popen([args.switchyard, "serve", "--config", config],
                              stdout=open(os.path.join(out, "gateway.log"), "w"), stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{gw_port}"
        wait_health(url, gw)
        print(f"INFO  gateway {url} -> mock Anthropic (tiers) on :{mock_port}; artefacts {out}", flush=True)
        ns = argparse.Namespace(auth="x-api-key", client_key=KEY, env=None, claude=args.claude,
                                model=None, debug_logs=False, timeout=180)
        run = probe.run_claude(ns, "tiers", PROMPT, ["--allowedTools", "Bash"], url, out)
        text = probe.result_text(run)
        problems = probe.run_ok(run)
        checks.append(("Claude Code finished the task", "PROBE_TIERS_DONE" in text and not problems,
                       f"{text[:60]!r} {problems or ''}"))
        seen = [json.loads(line) for line in open(capture)] if os.path.exists(capture) else []
        loop = [s for s in seen if s.get("tiers_probe") and "usage" in s]
        order = [s["model"] for s in loop]
        want = ["claude-sonnet-5-5", "claude-haiku-5-5", "claude-haiku-5-5", "claude-sonnet-5-5"]
        checks.append(("turns served by sonnet, haiku, haiku, sonnet", order == want, f"{order}"))
        refused = [s["error"] for s in seen if "error" in s]
        checks.append(("no thinking signature reached another model", not refused, f"{refused}"))
        gw.terminate()
        gw.wait(15)
        rows_out = subprocess.run([args.switchyard, "export", "--config", config, "--format", "jsonl",
                                   "--from", "2000-01-01", "--to", "2100-01-01"],
                                  capture_output=True, text=True, check=False).stdout
        rows = [json.loads(line) for line in rows_out.splitlines() if line.strip()]
        main = [r for r in rows if r.get("endpoint") == "messages" and r.get("route") == "auto"]
        tiers = [r.get("tier") for r in main]
        checks.append(("the ledger holds each turn's tier", tiers[-4:] == ["premium", "cheap", "cheap", "premium"],
                       f"{tiers}"))
        reads = {m: sum(r.get("cache_read_tokens") or 0 for r in main if r.get("model") == m)
                 for m in ("haiku", "sonnet")}
        checks.append(("prompt-cache reads on both models", all(v > 0 for v in reads.values()), f"{reads}"))
    finally:
        for p in (gw, mock):
            if p and p.poll() is None:
                p.terminate()
                p.wait(10)
    failures = 0
    for name, ok, detail in checks:
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  tiers: {name}: {detail}", flush=True)
    print(f"tiers: {len(checks) - failures} passed, {failures} failed")
    sys.exit(1 if failures or not checks else 0)


if __name__ == "__main__":
    main()
