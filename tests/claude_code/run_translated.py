#!/usr/bin/env python3
"""Run the real Claude Code CLI through switchyard against an OpenAI-compatible
and an Ollama upstream (mock_local.py, which speaks their real protocols), so
every request and answer is translated Anthropic <-> OpenAI / Ollama.

For each upstream: a simple prompt (answer text streamed back in pieces) and
a tool round trip (the model calls Bash, Claude Code runs it, the tool result
goes back upstream as a tool message, the final answer comes back).
Prints PASS/FAIL lines; exit status 0 when all pass. Uses the Claude Code
probe's runner (../shared/probes/claude-code/probe.py).
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import free_port, runner_setup, wait_file, wait_health  # noqa: E402

KEY = "sk-switchyard-translate-probe"


def main():
    args, probe, out = runner_setup("cc-translate-")
    capture = os.path.join(out, "upstream.jsonl")
    port_file = os.path.join(out, "mock.port")
    mock = subprocess.Popen([sys.executable, os.path.join(HERE, "mock_local.py"), "--probe-dir", args.probe_dir,
                             "--port-file", port_file, "--capture", capture],
                            stdout=open(os.path.join(out, "mock.log"), "w"), stderr=subprocess.STDOUT)
    gw = None
    failures = 0
    try:
        mock_port = wait_file(port_file, mock)
        gw_port = free_port()
        config = os.path.join(out, "switchyard.toml")
        with open(config, "w") as f:
            f.write(f'''listen = "127.0.0.1:{gw_port}"
master_key = "{KEY}"

[providers.compat]
kind = "openai"
base_url = "http://127.0.0.1:{mock_port}/v1"

[providers.ollama]
kind = "ollama"
base_url = "http://127.0.0.1:{mock_port}"
discover = false

[models.via-openai]
provider = "compat"
id = "smollm-mock"
capabilities = ["tools"]

[models.via-ollama]
provider = "ollama"
id = "smollm-mock:latest"
capabilities = ["tools"]
''')
        gw = subprocess.Popen([args.switchyard, "serve", "--config", config],
                              stdout=open(os.path.join(out, "gateway.log"), "w"), stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{gw_port}"
        wait_health(url, gw)
        print(f"INFO  gateway {url} -> mock OpenAI/Ollama upstream on :{mock_port}; artefacts {out}", flush=True)
        for upstream in ("openai", "ollama"):
            ns = argparse.Namespace(auth="x-api-key", client_key=KEY, env=None, claude=args.claude,
                                    model=f"via-{upstream}", debug_logs=False, timeout=120)
            simple = probe.run_claude(ns, f"{upstream}-simple", "Say hi. PROBE_SIMPLE", [], url, out)
            text = probe.result_text(simple)
            deltas = probe.text_delta_times(simple)
            problems = probe.run_ok(simple)
            ok = "PROBE_HELLO_OK" in text and len(deltas) >= 2 and not problems
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'}  {upstream}: simple prompt answered ({len(deltas)} text deltas streamed): "
                  f"{text[:60]!r} {problems or ''}", flush=True)

            tool = probe.run_claude(ns, f"{upstream}-tool", "Run the probe command. PROBE_TOOL_BASH",
                                    ["--allowedTools", "Bash"], url, out)
            pf = os.path.join(tool["work"], "probe.txt")
            content = open(pf).read().strip() if os.path.exists(pf) else None
            text = probe.result_text(tool)
            path = "/v1/chat/completions" if upstream == "openai" else "/api/chat"
            seen = [json.loads(l) for l in open(capture)] if os.path.exists(capture) else []
            returned = any(m.get("role") == "tool" and "probe-ok" in json.dumps(m.get("content"))
                           for r in seen if r["path"] == path for m in r["body"].get("messages", []))
            problems = probe.run_ok(tool)
            ok = content == "probe-ok" and "PROBE_TOOL_FINAL_OK" in text and returned and not problems
            failures += not ok
            print(f"{'PASS' if ok else 'FAIL'}  {upstream}: tool round trip: probe.txt={content!r}, "
                  f"tool result upstream={returned}, final={text[:50]!r} {problems or ''}", flush=True)
    finally:
        for p in (gw, mock):
            if p and p.poll() is None:
                p.terminate()
                p.wait(10)
    print(f"translated: {4 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
