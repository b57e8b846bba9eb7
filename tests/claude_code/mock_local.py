#!/usr/bin/env python3
"""A scripted OpenAI-compatible and Ollama upstream, for running the real
Claude Code CLI through switchyard's translation (stdlib only).

  POST /v1/chat/completions   OpenAI Chat Completions (JSON or SSE chunks)
  POST /api/chat              Ollama native (JSON or NDJSON)
  GET  /api/tags              one model

Each answer is decided by the Claude Code probe's own script
(mock_anthropic.plan_response from ../shared/probes/claude-code), applied to
an Anthropic-shaped view of the translated request, so the same prompts
(PROBE_SIMPLE, PROBE_TOOL_BASH, a returning tool result) get the same
answers. Every request is appended to --capture as one JSON line.
"""
import argparse
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ARGS = None


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def anthropic_view(body):
    """Enough of an Anthropic body for plan_response: system, turns, tool names."""
    system, messages = [], []
    for m in body.get("messages") or []:
        role = m.get("role")
        if role == "system":
            system.append(text_of(m.get("content")))
        elif role == "tool":
            block = {"type": "tool_result", "tool_use_id": m.get("tool_call_id", ""), "content": text_of(m.get("content"))}
            if messages and messages[-1]["role"] == "user" and messages[-1].get("_tools"):
                messages[-1]["content"].append(block)
            else:
                messages.append({"role": "user", "content": [block], "_tools": True})
        elif role == "user":
            messages.append({"role": "user", "content": [{"type": "text", "text": text_of(m.get("content"))}]})
        elif role == "assistant":
            messages.append({"role": "assistant", "content": [{"type": "text", "text": text_of(m.get("content"))}]})
    tools = [{"name": (t.get("function") or {}).get("name")} for t in body.get("tools") or []]
    return {"system": "\n".join(system), "messages": messages, "tools": tools, "max_tokens": body.get("max_tokens")}


def pieces(s, n=6):
    size = max(1, -(-len(s) // n))
    return [s[i:i + size] for i in range(0, len(s), size)] or [""]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data: bytes):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def do_GET(self):
        if self.path == "/api/tags":
            # Newer Ollama servers list what each model can do.
            return self.send_json({"models": [{"name": "smollm-mock:latest",
                                               "capabilities": ["completion", "tools"]}]})
        self.send_json({"error": "not found"}, 404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        with LOCK, open(ARGS.capture, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        blocks, stop, _label = plan_response(anthropic_view(body))
        text = "".join(b.get("text", "") for b in blocks if b["type"] == "text")
        calls = [b for b in blocks if b["type"] == "tool_use"]
        stream = body.get("stream", self.path == "/api/chat")
        if self.path.endswith("/chat/completions"):
            return self.openai(body, text, calls, stream)
        if self.path == "/api/chat":
            return self.ollama(body, text, calls, stream)
        self.send_json({"error": {"message": "not found"}}, 404)

    def openai(self, body, text, calls, stream):
        cid, model = "chatcmpl-" + uuid.uuid4().hex[:12], body.get("model", "mock")
        tool_calls = [{"id": "call_" + uuid.uuid4().hex[:12], "type": "function",
                       "function": {"name": c["name"], "arguments": json.dumps(c["input"])}} for c in calls]
        finish = "tool_calls" if calls else "stop"
        usage = {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}
        if not stream:
            msg = {"role": "assistant", "content": text or None}
            if tool_calls:
                msg["tool_calls"] = tool_calls
            return self.send_json({"id": cid, "object": "chat.completion", "created": int(time.time()), "model": model,
                                   "choices": [{"index": 0, "message": msg, "finish_reason": finish}], "usage": usage})
        self.start_stream("text/event-stream")

        def send(delta, fin=None, extra=None):
            c = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                 "choices": [{"index": 0, "delta": delta, "finish_reason": fin}]}
            c.update(extra or {})
            self.chunk(b"data: " + json.dumps(c).encode() + b"\n\n")

        send({"role": "assistant", "content": ""})
        for p in pieces(text) if text else []:
            time.sleep(ARGS.delay)
            send({"content": p})
        for i, tc in enumerate(tool_calls):
            args = tc["function"]["arguments"]
            half = len(args) // 2
            send({"tool_calls": [{"index": i, "id": tc["id"], "type": "function",
                                  "function": {"name": tc["function"]["name"], "arguments": args[:half]}}]})
            send({"tool_calls": [{"index": i, "function": {"arguments": args[half:]}}]})
        send({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            c = {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                 "choices": [], "usage": usage}
            self.chunk(b"data: " + json.dumps(c).encode() + b"\n\n")
        self.chunk(b"data: [DONE]\n\n")
        self.chunk(b"")

    def ollama(self, body, text, calls, stream):
        model = body.get("model", "mock")
        tool_calls = [{"function": {"name": c["name"], "arguments": c["input"]}} for c in calls]
        final = {"model": model, "created_at": "2026-11-27T00:00:00Z", "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": "stop", "prompt_eval_count": 1000, "eval_count": 20}
        if not stream:
            final["message"] = {"role": "assistant", "content": text, **({"tool_calls": tool_calls} if tool_calls else {})}
            return self.send_json(final)
        self.start_stream("application/x-ndjson")
        for p in pieces(text) if text else []:
            time.sleep(ARGS.delay)
            line = {"model": model, "created_at": "2026-11-27T00:00:00Z", "message": {"role": "assistant", "content": p}, "done": False}
            self.chunk(json.dumps(line).encode() + b"\n")
        if tool_calls:
            line = {"model": model, "created_at": "2026-11-27T00:00:00Z",
                    "message": {"role": "assistant", "content": "", "tool_calls": tool_calls}, "done": False}
            self.chunk(json.dumps(line).encode() + b"\n")
        self.chunk(json.dumps(final).encode() + b"\n")
        self.chunk(b"")


def main():
    global ARGS, plan_response
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe-dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--delay", type=float, default=0.15)
    ap.add_argument("--lifetime", type=float, default=600)
    ARGS = ap.parse_args()
    sys.path.insert(0, ARGS.probe_dir)
    from mock_anthropic import plan_response as pr  # the probe's own script
    plan_response = pr
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(ARGS.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    threading.Timer(ARGS.lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
