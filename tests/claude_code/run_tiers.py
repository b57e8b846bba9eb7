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
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import claude_options, ledger_rows, report, runner_setup, start_tiers_gateway, stop  # noqa: E402

KEY = "sk-switchyard-tiers-probe"
PROMPT = ("Design a zero-downtime migration plan for our 30 microservices from REST to gRPC and compare "
          "the trade-offs; first run the probe steps I set up. PROBE_TIERS")


def main():
    args, probe, out = runner_setup("cc-tiers-")
    capture = os.path.join(out, "upstream.jsonl")
    gw = mock = None
    checks = []
    try:
        mock, mock_port, gw, config, url = start_tiers_gateway(args, out, KEY, capture, lambda mock_port: f'''[providers.anthropic]
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
        print(f"INFO  gateway {url} -> mock Anthropic (tiers) on :{mock_port}; artefacts {out}", flush=True)
        ns = claude_options(args, KEY)
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
        stop(gw)
        rows = ledger_rows(args, config)
        main = [r for r in rows if r.get("endpoint") == "messages" and r.get("route") == "auto"]
        tiers = [r.get("tier") for r in main]
        checks.append(("the ledger holds each turn's tier", tiers[-4:] == ["premium", "cheap", "cheap", "premium"],
                       f"{tiers}"))
        reads = {m: sum(r.get("cache_read_tokens") or 0 for r in main if r.get("model") == m)
                 for m in ("haiku", "sonnet")}
        checks.append(("prompt-cache reads on both models", all(v > 0 for v in reads.values()), f"{reads}"))
    finally:
        stop(gw, mock)
    report("tiers", checks)


if __name__ == "__main__":
    main()
