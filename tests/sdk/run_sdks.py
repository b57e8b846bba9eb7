#!/usr/bin/env python3
"""The official `anthropic` and `openai` Python SDKs (and, on the Bedrock
ingress, `AnthropicBedrock` and boto3's bedrock-runtime), pointed at switchyard,
against each provider kind (an Anthropic upstream, an OpenAI-compatible one
and Ollama's native API; scripted mocks speaking the real protocols).

For every SDK x provider x {non-stream, stream}: a plain answer, and a tool
call round trip (the model asks for Bash, the result goes back, the final
answer comes back). Prints PASS/FAIL; exit status 0 when all pass.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import anthropic
import openai

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = "sk-switchyard-sdk-test"
BASH = {"name": "Bash", "description": "Run a shell command",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}
OPENAI_BASH = {"type": "function", "function": {"name": "Bash", "description": BASH["description"],
                                                "parameters": BASH["input_schema"]}}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait(cond, what, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if cond():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def anthropic_case(client, model, stream):
    ask = dict(model=model, max_tokens=256, messages=[{"role": "user", "content": "Say hi. PROBE_SIMPLE"}])
    if stream:
        with client.messages.stream(**ask) as s:
            text = "".join(s.text_stream)
            final = s.get_final_message()
    else:
        final = client.messages.create(**ask)
        text = "".join(b.text for b in final.content if b.type == "text")
    assert "PROBE_HELLO_OK" in text, text
    assert final.usage.input_tokens > 0 and final.usage.output_tokens > 0, final.usage
    turn = [{"role": "user", "content": "Run the probe command. PROBE_TOOL_BASH"}]
    ask = dict(model=model, max_tokens=256, tools=[BASH], messages=turn)
    if stream:
        with client.messages.stream(**ask) as s:
            msg = s.get_final_message()
    else:
        msg = client.messages.create(**ask)
    assert msg.stop_reason == "tool_use", msg
    call = next(b for b in msg.content if b.type == "tool_use")
    assert call.name == "Bash" and "command" in call.input, call
    turn += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "probe-ok"}]}]
    final = client.messages.create(model=model, max_tokens=256, tools=[BASH], messages=turn)
    text = "".join(b.text for b in final.content if b.type == "text")
    assert "PROBE_TOOL_FINAL_OK" in text and "probe-ok" in text, text


def openai_case(client, model, stream):
    msgs = [{"role": "user", "content": "Say hi. PROBE_SIMPLE"}]
    if stream:
        chunks = list(client.chat.completions.create(model=model, messages=msgs, stream=True,
                                                     stream_options={"include_usage": True}))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
    else:
        r = client.chat.completions.create(model=model, messages=msgs)
        text, usage = r.choices[0].message.content, r.usage
    assert "PROBE_HELLO_OK" in text, text
    assert usage and usage.prompt_tokens > 0 and usage.completion_tokens > 0, usage
    msgs = [{"role": "user", "content": "Run the probe command. PROBE_TOOL_BASH"}]
    if stream:
        calls, finish = {}, None
        for c in client.chat.completions.create(model=model, messages=msgs, tools=[OPENAI_BASH], stream=True):
            for ch in c.choices:
                finish = ch.finish_reason or finish
                for tc in ch.delta.tool_calls or []:
                    slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    slot["name"] += (tc.function.name or "") if tc.function else ""
                    slot["arguments"] += (tc.function.arguments or "") if tc.function else ""
        call = calls[0]
    else:
        r = client.chat.completions.create(model=model, messages=msgs, tools=[OPENAI_BASH])
        finish = r.choices[0].finish_reason
        tc = r.choices[0].message.tool_calls[0]
        call = {"id": tc.id, "name": tc.function.name, "arguments": tc.function.arguments}
    assert finish == "tool_calls" and call["name"] == "Bash" and "command" in call["arguments"], (finish, call)
    msgs += [{"role": "assistant", "content": None, "tool_calls": [
                {"id": call["id"], "type": "function", "function": {"name": "Bash", "arguments": call["arguments"]}}]},
             {"role": "tool", "tool_call_id": call["id"], "content": "probe-ok"}]
    r = client.chat.completions.create(model=model, messages=msgs, tools=[OPENAI_BASH])
    text = r.choices[0].message.content
    assert "PROBE_TOOL_FINAL_OK" in text and "probe-ok" in text, text


def boto3_case(base, model, stream):
    """boto3's bedrock-runtime client on switchyard's Bedrock ingress: the AWS
    SDK parses the event stream and the errors. (botocore sends Bedrock API
    keys over HTTPS only, so the gateway key is added as the same Bearer
    header to an unsigned request.)"""
    import boto3
    import botocore
    import botocore.config
    client = boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=base,
                          config=botocore.config.Config(signature_version=botocore.UNSIGNED,
                                                        retries={"max_attempts": 1}))
    client.meta.events.register("before-send.bedrock-runtime.*",
                                lambda request, **_: request.headers.__setitem__("Authorization", f"Bearer {KEY}"))
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 256,
                       "messages": [{"role": "user", "content": "Say hi. PROBE_SIMPLE"}]})
    if stream:
        resp = client.invoke_model_with_response_stream(modelId=model, body=body)
        events = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
        text = "".join(e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta")
        assert events[-1]["type"] == "message_stop", events[-1]
    else:
        resp = client.invoke_model(modelId=model, body=body)
        msg = json.loads(resp["body"].read())
        text = "".join(b["text"] for b in msg["content"] if b["type"] == "text")
    assert "PROBE_HELLO_OK" in text, text
    try:
        client.invoke_model(modelId="meta.llama3-70b-instruct-v1:0", body=body)
        raise AssertionError("an unknown model was accepted")
    except client.exceptions.ResourceNotFoundException as e:
        assert "not served" in str(e), e
    try:
        client.invoke_model(modelId=model, body=json.dumps({"anthropic_version": "bedrock-2023-05-31"}))
        raise AssertionError("a body without messages was accepted")
    except client.exceptions.ValidationException as e:
        assert "messages" in str(e), e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--switchyard", required=True)
    ap.add_argument("--probe-dir", required=True)
    args = ap.parse_args()
    out = tempfile.mkdtemp(prefix="sdk-")
    procs = []
    try:
        anth_port_file = os.path.join(out, "anthropic.port")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(args.probe_dir, "mock_anthropic.py"), "--port", "0", "--port-file",
             anth_port_file, "--capture-dir", os.path.join(out, "caps"), "--delay", "0.01", "--lifetime", "300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        local_port_file = os.path.join(out, "local.port")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "..", "claude_code", "mock_local.py"), "--probe-dir", args.probe_dir,
             "--port-file", local_port_file, "--capture", os.path.join(out, "local.jsonl"), "--delay", "0.01"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait(lambda: os.path.exists(anth_port_file) and os.path.exists(local_port_file), "mocks")
        time.sleep(0.2)
        anth, local = open(anth_port_file).read().strip(), open(local_port_file).read().strip()
        port = free_port()
        config = os.path.join(out, "switchyard.toml")
        with open(config, "w") as f:
            f.write(f'''listen = "127.0.0.1:{port}"
master_key = "{KEY}"
[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{anth}"
api_key = "sk-ant-mock"
[providers.compat]
kind = "openai"
base_url = "http://127.0.0.1:{local}/v1"
[providers.ollama]
kind = "ollama"
base_url = "http://127.0.0.1:{local}"
discover = false
[models.via-anthropic]
provider = "anthropic"
id = "claude-sonnet-4-5-20250929"
[models.via-openai]
provider = "compat"
id = "mock-model"
capabilities = ["tools"]
[models.via-ollama]
provider = "ollama"
id = "mock-model:latest"
capabilities = ["tools"]
''')
        gw = subprocess.Popen([args.switchyard, "serve", "--config", config],
                              stdout=open(os.path.join(out, "gateway.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(gw)
        base = f"http://127.0.0.1:{port}"
        wait(lambda: urllib.request.urlopen(base + "/health", timeout=1).status == 200, "switchyard")
        a = anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0)
        o = openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0)
        # Bedrock-mode clients on the /model/{id}/invoke... ingress.
        ab = anthropic.AnthropicBedrock(base_url=base, aws_region="us-east-1", api_key=KEY, max_retries=0)
        failures, total = 0, 0
        cases = [(sdk, client, case, provider, stream)
                 for sdk, client, case in (("anthropic", a, anthropic_case), ("openai", o, openai_case),
                                           ("anthropic Bedrock", ab, anthropic_case))
                 for provider in ("anthropic", "openai", "ollama") for stream in (False, True)]
        cases += [("boto3 bedrock-runtime", base, lambda b, m, s: boto3_case(b, m, s), "anthropic", stream)
                  for stream in (False, True)]
        for sdk, client, case, provider, stream in cases:
            name = f"{sdk} SDK -> {provider} ({'stream' if stream else 'non-stream'})"
            total += 1
            try:
                case(client, f"via-{provider}", stream)
                print(f"PASS  {name}", flush=True)
            except Exception as e:  # noqa: BLE001 - report and go on
                failures += 1
                print(f"FAIL  {name}: {type(e).__name__}: {e}", flush=True)
        import boto3
        print(f"sdks: {total - failures} passed, {failures} failed (anthropic {anthropic.__version__}, "
              f"openai {openai.__version__}, boto3 {boto3.__version__})")
        if failures:
            print(open(os.path.join(out, "gateway.log")).read()[-3000:])
        sys.exit(1 if failures else 0)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()


if __name__ == "__main__":
    main()
