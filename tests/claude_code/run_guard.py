#!/usr/bin/env python3
"""Run the real Claude Code CLI through switchyard with guardrails on:
Claude Code reads a project's `.env` with its Read tool while the
developer's prompt carries an AWS key id, against mock_tiers.py (an
Anthropic upstream that captures the tool results it is sent).

`[guard] secrets = "redact"`: checked that Claude Code finishes the task,
that the upstream never saw the `.env` contents nor the key id (it saw the
placeholders), and that the ledger rows say what was redacted. Prints
PASS/FAIL lines; exit status 0 when all pass.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import claude_options, ledger_rows, report, runner_setup, start_tiers_gateway, stop  # noqa: E402

KEY = "sk-switchyard-guard-probe"
AWS_ID = "AKIAZ4TQ7RB3NW5PLXVM"
PASSWORD = "probe-db-pw-7f3k2q9x"


def main():
    args, probe, out = runner_setup("cc-guard-")
    capture = os.path.join(out, "upstream.jsonl")
    work = os.path.join(out, "work-guard")
    os.makedirs(work, exist_ok=True)
    env_file = os.path.join(work, ".env")
    with open(env_file, "w") as f:
        f.write(f"DATABASE_PASSWORD={PASSWORD}\nDEBUG=true\n")
    gw = mock = None
    checks = []
    try:
        mock, mock_port, gw, config, url = start_tiers_gateway(args, out, KEY, capture, lambda mock_port: f'''[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock_port}"
api_key = "sk-ant-guard-upstream"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-5-5"
aliases = ["claude-*"]
capabilities = ["tools", "vision", "thinking"]

[guard]
secrets = "redact"
''')
        print(f"INFO  gateway {url} -> mock Anthropic on :{mock_port}; artefacts {out}", flush=True)
        ns = claude_options(args, KEY)
        prompt = f"PROBE_GUARD {env_file} boto says access denied for key id {AWS_ID}, check the settings"
        run = probe.run_claude(ns, "guard", prompt, ["--allowedTools", "Read"], url, out)
        text = probe.result_text(run)
        problems = probe.run_ok(run)
        checks.append(("Claude Code finished the task", "PROBE_GUARD_DONE" in text and not problems,
                       f"{text[:60]!r} {problems or ''}"))
        seen = [json.loads(line) for line in open(capture)] if os.path.exists(capture) else []
        loop = [s for s in seen if s.get("guard_probe")]
        results = [t for s in loop for t in s.get("result_texts", [])]
        checks.append(("the upstream got the Read result", bool(results), f"{len(results)} results"))
        leaked = [t for t in results if PASSWORD in t]
        checks.append(("the .env contents never reached the upstream", not leaked and
                       any("withheld" in t for t in results), f"{results[:1]}"))
        prompts = [s.get("prompt", "") for s in loop]
        checks.append(("nor the key id in the prompt (a placeholder instead)",
                       bool(prompts) and all(AWS_ID not in p and "[REDACTED:aws_access_key_id" in p
                                             for p in prompts), f"{[p[-110:] for p in prompts[:1]]}"))
        stop(gw)
        rows = ledger_rows(args, config)
        notes = [r.get("guard") or "" for r in rows if r.get("endpoint") == "messages"]
        checks.append(("the ledger says what was redacted",
                       any("sensitive_file" in n and "aws_access_key_id" in n for n in notes), f"{notes}"))
    finally:
        stop(gw, mock)
    report("guard", checks)


if __name__ == "__main__":
    main()
