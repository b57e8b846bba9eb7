#!/usr/bin/env python3
"""Run the real Claude Code CLI through switchyard with tool rules on: a
local model (first target) proposes reading ~/.ssh/id_rsa, writing outside
the workspace and `curl … | sh`; Sonnet (next target) proposes harmless
commands. Against mock_tiers.py (one Anthropic upstream serving both, the
local one through a provider marked `local = true`).

The last turn, plain text, is the local model's. Checked: Claude Code
finishes the task; none of the three calls reaches
Claude Code (its transcript holds only Sonnet's `echo` calls) and nothing is
written outside the workspace; each turn asked the local model first and
Sonnet after; the ledger says, per turn, which rule refused which call.
Prints PASS/FAIL lines; exit status 0 when all pass.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import claude_options, ledger_rows, report, runner_setup, start_tiers_gateway, stop  # noqa: E402

KEY = "sk-switchyard-tools-probe"


def proposed_calls(run):
    """Every tool call in Claude Code's transcript: (name, input)."""
    calls = []
    for _, e in run["events"]:
        if e.get("type") == "assistant":
            for b in (e.get("message") or {}).get("content") or []:
                if isinstance(b, dict) and b.get("type") == "tool_use":
                    calls.append((b.get("name"), b.get("input") or {}))
    return calls


def main():
    args, probe, out = runner_setup("cc-tools-")
    capture = os.path.join(out, "upstream.jsonl")
    outside = os.path.join(out, "outside")
    os.makedirs(outside, exist_ok=True)
    gw = mock = None
    checks = []
    try:
        mock, mock_port, gw, config, url = start_tiers_gateway(args, out, KEY, capture, lambda mock_port: f'''[providers.box]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock_port}"
api_key = "unused"
local = true

[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock_port}"
api_key = "sk-ant-tools-upstream"

[models.qwen]
provider = "box"
id = "qwen-local"
capabilities = ["tools", "thinking"]

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-5-5"
capabilities = ["tools", "vision", "thinking"]

[[routes]]
name = "agent"
match = {{ model = "claude-*" }}
targets = ["qwen", "sonnet"]

[guard]
tools = ["jail", "sensitive_files", "shell"]
''')
        print(f"INFO  gateway {url} -> mock Anthropic on :{mock_port} (local + cloud); artefacts {out}", flush=True)
        ns = claude_options(args, KEY)
        prompt = f"PROBE_TOOLS {outside} set up the project"
        run = probe.run_claude(ns, "tools", prompt, ["--allowedTools", "Bash,Read,Write"], url, out)
        text = probe.result_text(run)
        problems = probe.run_ok(run)
        checks.append(("Claude Code finished the task", "PROBE_TOOLS_DONE" in text and not problems,
                       f"{text[:60]!r} {problems or ''}"))
        calls = proposed_calls(run)
        commands = [c[1].get("command") for c in calls]
        bad = [c for c in calls if any(s in json.dumps(c) for s in ("id_rsa", "evil.sh", "curl"))]
        checks.append(("no refused call reached Claude Code", not bad and
                       commands == ["echo safe-0", "echo safe-1", "echo safe-2"], f"{calls}"))
        checks.append(("nothing was written outside the workspace",
                       not os.path.exists(os.path.join(outside, "evil.sh")), outside))
        seen = [json.loads(line) for line in open(capture)] if os.path.exists(capture) else []
        order = [s["model"] for s in seen if s.get("tools_probe") and "usage" in s]
        want = ["qwen-local", "claude-sonnet-5-5"] * 3 + ["qwen-local"]
        checks.append(("each turn asked the local model, then Sonnet", order == want, f"{order}"))
        foreign = [s["error"] for s in seen if "error" in s]
        checks.append(("Sonnet's thinking never reached the local model", not foreign, f"{foreign}"))
        stop(gw)
        rows = ledger_rows(args, config)
        notes = [r.get("guard") or "" for r in rows if r.get("endpoint") == "messages" and r.get("guard")]
        for rule in ("sensitive_files Read", "jail Write", "shell:download_to_shell Bash"):
            found = [n for n in notes if f"escalated from qwen: {rule}" in n]
            checks.append((f"the ledger says why ({rule})", len(found) == 1, f"{found or notes}"))
    finally:
        stop(gw, mock)
    report("tools", checks)


if __name__ == "__main__":
    main()
