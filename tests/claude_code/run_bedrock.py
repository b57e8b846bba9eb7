#!/usr/bin/env python3
"""Run the real Claude Code CLI through switchyard with Bedrock on either
side:

  anthropic-mode Claude Code -> switchyard -> Bedrock (mock_bedrock.py, SigV4 checked)
  Bedrock-mode Claude Code   -> switchyard's /model/{id}/invoke... -> Anthropic (the probe's mock)
  Bedrock-mode Claude Code   -> switchyard's /model/{id}/invoke... -> Bedrock (mock)

Bedrock mode is Claude Code's own: CLAUDE_CODE_USE_BEDROCK=1,
ANTHROPIC_BEDROCK_BASE_URL=<switchyard>, and the gateway key as a Bedrock API
key (AWS_BEARER_TOKEN_BEDROCK). The gateway finds its AWS credentials through
the standard chain: a shared-config profile whose credential_process prints
the mock's keys. Each path runs a simple prompt and a Bash tool round trip.
Prints PASS/FAIL lines; exit status 0 when all pass.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import free_port, runner_setup, wait_file, wait_health  # noqa: E402

KEY = "sk-switchyard-bedrock-probe"
AWS = {"AccessKeyId": "AKIDPROBEBEDROCK", "SecretAccessKey": "probe/secret+key", "SessionToken": "probe-session"}


def write_aws_profile(out):
    """~/.aws/config for the gateway: profile `switchyard-probe` gets its keys from a process."""
    creds = json.dumps({"Version": 1, **AWS})
    script = os.path.join(out, "aws-creds.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\ncat <<'JSON'\n{creds}\nJSON\n")
    os.chmod(script, 0o755)
    config = os.path.join(out, "aws-config")
    with open(config, "w") as f:
        f.write(f"[profile switchyard-probe]\ncredential_process = {script}\nregion = us-east-1\n")
    return config


def main():
    args, probe, out = runner_setup("cc-bedrock-")
    capture = os.path.join(out, "bedrock.jsonl")
    procs, failures, total = [], 0, 0
    try:
        bedrock = subprocess.Popen([sys.executable, os.path.join(HERE, "mock_bedrock.py"), "--probe-dir", args.probe_dir,
                                    "--port-file", os.path.join(out, "bedrock.port"), "--capture", capture,
                                    "--access-key", AWS["AccessKeyId"], "--secret-key", AWS["SecretAccessKey"],
                                    "--session-token", AWS["SessionToken"]],
                                   stdout=open(os.path.join(out, "bedrock.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(bedrock)
        anthropic = subprocess.Popen([sys.executable, os.path.join(args.probe_dir, "mock_anthropic.py"),
                                      "--port-file", os.path.join(out, "anthropic.port"),
                                      "--capture-dir", os.path.join(out, "anthropic-captures")],
                                     stdout=open(os.path.join(out, "anthropic.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(anthropic)
        bedrock_port = wait_file(os.path.join(out, "bedrock.port"), bedrock)
        anthropic_port = wait_file(os.path.join(out, "anthropic.port"), anthropic)
        gw_port = free_port()
        config = os.path.join(out, "switchyard.toml")
        with open(config, "w") as f:
            f.write(f'''listen = "127.0.0.1:{gw_port}"
master_key = "{KEY}"

[providers.bedrock]
kind = "bedrock"
region = "us-east-1"
profile = "switchyard-probe"
endpoint = "http://127.0.0.1:{bedrock_port}"

[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{anthropic_port}"
api_key = "sk-ant-probe-upstream"

[models.via-bedrock]
provider = "bedrock"
id = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

[models.via-anthropic]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
aliases = ["claude-*"]
''')
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=write_aws_profile(out), AWS_SHARED_CREDENTIALS_FILE=os.path.join(out, "none"),
                   AWS_EC2_METADATA_DISABLED="true")
        check = subprocess.run([args.switchyard, "check-config", "--config", config], env=env,
                               capture_output=True, text=True)
        ok = check.returncode == 0 and "credentials from the AWS credential chain (access key AKID" in check.stdout
        failures += not ok
        total += 1
        print(f"{'PASS' if ok else 'FAIL'}  check-config finds the profile's credential_process keys "
              f"{'' if ok else check.stdout + check.stderr}", flush=True)
        gw = subprocess.Popen([args.switchyard, "serve", "--config", config], env=env,
                              stdout=open(os.path.join(out, "gateway.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(gw)
        url = f"http://127.0.0.1:{gw_port}"
        wait_health(url, gw)
        print(f"INFO  gateway {url}; Bedrock mock :{bedrock_port}; Anthropic mock :{anthropic_port}; artefacts {out}",
              flush=True)
        bedrock_mode = ["CLAUDE_CODE_USE_BEDROCK=1", f"ANTHROPIC_BEDROCK_BASE_URL={url}", "AWS_REGION=us-east-1",
                        f"AWS_BEARER_TOKEN_BEDROCK={KEY}"]
        paths = [
            ("anthropic-mode->bedrock", "via-bedrock", []),
            ("bedrock-mode->anthropic", "via-anthropic", bedrock_mode),
            ("bedrock-mode->bedrock", "via-bedrock", bedrock_mode),
        ]
        for name, model, extra_env in paths:
            ns = argparse.Namespace(auth="x-api-key", client_key=KEY, env=extra_env, claude=args.claude,
                                    model=model, debug_logs=False, timeout=120)
            simple = probe.run_claude(ns, f"{name}-simple", "Say hi. PROBE_SIMPLE", [], url, out)
            text = probe.result_text(simple)
            deltas = probe.text_delta_times(simple)
            problems = probe.run_ok(simple)
            ok = "PROBE_HELLO_OK" in text and len(deltas) >= 2 and not problems
            failures += not ok
            total += 1
            print(f"{'PASS' if ok else 'FAIL'}  {name}: simple prompt ({len(deltas)} text deltas streamed): "
                  f"{text[:50]!r} {problems or ''}", flush=True)
            tool = probe.run_claude(ns, f"{name}-tool", "Run the probe command. PROBE_TOOL_BASH",
                                    ["--allowedTools", "Bash"], url, out)
            pf = os.path.join(tool["work"], "probe.txt")
            content = open(pf).read().strip() if os.path.exists(pf) else None
            text = probe.result_text(tool)
            problems = probe.run_ok(tool)
            ok = content == "probe-ok" and "PROBE_TOOL_FINAL_OK" in text and "probe-ok" in text and not problems
            failures += not ok
            total += 1
            print(f"{'PASS' if ok else 'FAIL'}  {name}: tool round trip: probe.txt={content!r}, final={text[:60]!r} "
                  f"{problems or ''}", flush=True)
        seen = [json.loads(l) for l in open(capture)] if os.path.exists(capture) else []
        bad = [s for s in seen if s["auth_error"]]
        ok = bool(seen) and not bad
        failures += not ok
        total += 1
        print(f"{'PASS' if ok else 'FAIL'}  every Bedrock request was SigV4-signed with the profile's keys "
              f"({len(seen)} requests, {len(bad)} rejected)", flush=True)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                p.wait(10)
    print(f"bedrock: {total - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
