#!/usr/bin/env python3
"""A mock AWS Bedrock runtime for running the real Claude Code CLI through
switchyard (stdlib only).

  POST /model/{id}/invoke                       JSON (an Anthropic message)
  POST /model/{id}/invoke-with-response-stream  event-stream frames
  POST /model/{id}/count-tokens                 {"inputTokens": N}

Every request must be signed with SigV4 (service "bedrock") using the keys
given on the command line: the signature is recomputed here and a mismatch is
answered 403 InvalidSignatureException, as Bedrock would. Answers come from
the Claude Code probe's own script (mock_anthropic.plan_response), so the
same prompts get the same answers as through the Anthropic mock. Frames are
written from the wire format (prelude, string headers, payload, CRC-32) and
the invocation metrics ride on message_stop. Each request is appended to
--capture as one JSON line (path, body, auth verdict).
"""
import argparse
import base64
import binascii
import hashlib
import hmac
import json
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
ARGS = None


def frame(headers, payload: bytes) -> bytes:
    h = b""
    for name, value in headers:
        n, v = name.encode(), value.encode()
        h += bytes([len(n)]) + n + b"\x07" + struct.pack(">H", len(v)) + v
    total = 12 + len(h) + len(payload) + 4
    prelude = struct.pack(">II", total, len(h))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    msg = prelude + h + payload
    return msg + struct.pack(">I", binascii.crc32(msg))


def chunk(event: dict) -> bytes:
    b64 = base64.b64encode(json.dumps(event).encode()).decode()
    return frame([(":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")],
                 json.dumps({"bytes": b64}).encode())


def sigv4_ok(method, raw_path, headers, body):
    """Recompute the SigV4 signature; return None when it matches, else why not."""
    auth = headers.get("Authorization") or ""
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "not SigV4"
    parts = dict(p.split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(", "))
    key_id, date, region, service, term = parts["Credential"].split("/")
    amz_date = headers.get("x-amz-date") or ""
    if (key_id, region, service, term) != (ARGS.access_key, ARGS.region, "bedrock", "aws4_request") or date != amz_date[:8]:
        return f"bad scope {parts['Credential']}"
    if ARGS.session_token and headers.get("x-amz-security-token") != ARGS.session_token:
        return "missing session token"
    names = parts["SignedHeaders"].split(";")
    if "host" not in names:
        return "host not signed"
    canon_headers = "".join(f"{n}:{(headers.get(n) or '').strip()}\n" for n in names)
    path, _, query = raw_path.partition("?")
    canonical = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), query, canon_headers,
                           parts["SignedHeaders"], hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{region}/bedrock/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + ARGS.secret_key).encode()
    for part in (date, region, "bedrock", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    want = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(want, parts["Signature"]) else "signature mismatch"


def pieces(s, n):
    size = max(1, -(-len(s) // n))
    return [s[i:i + size] for i in range(0, len(s), size)] or [""]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, obj, status=200, error_type=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        why = sigv4_ok("POST", self.path, self.headers, raw)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        with LOCK, open(ARGS.capture, "a") as f:
            f.write(json.dumps({"path": self.path, "body": body, "auth_error": why}) + "\n")
        if why:
            return self.send_json({"message": f"The request signature we calculated does not match ({why})"}, 403,
                                  "InvalidSignatureException")
        if body is None:
            return self.send_json({"message": "Malformed input request: not JSON"}, 400, "ValidationException")
        path = urllib.parse.unquote(self.path.split("?")[0])
        _, _, model, op = path.split("/", 3)
        if op == "count-tokens":
            inner = json.loads(base64.b64decode(body["input"]["invokeModel"]["body"]))
            return self.send_json({"inputTokens": len(json.dumps(inner)) // 4})
        for field in ("anthropic_version", "max_tokens", "messages"):
            if field not in body:
                return self.send_json({"message": f"Malformed input request: #: required key [{field}] not found"},
                                      400, "ValidationException")
        for field in ("model", "stream"):
            if field in body:
                return self.send_json({"message": f"Malformed input request: #: extraneous key [{field}] is not permitted"},
                                      400, "ValidationException")
        blocks, stop, _label = plan_response(body)
        in_tok, out_tok = len(json.dumps(body)) // 4, 20
        usage = {"input_tokens": in_tok, "output_tokens": out_tok,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        msg_id = "msg_bdrk_" + uuid.uuid4().hex[:20]
        if op == "invoke":
            return self.send_json({"id": msg_id, "type": "message", "role": "assistant", "model": model,
                                   "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage})
        if op != "invoke-with-response-stream":
            return self.send_json({"message": "unknown operation"}, 404, "ResourceNotFoundException")
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        out = []
        out.append(chunk({"type": "message_start", "message": {"id": msg_id, "type": "message", "role": "assistant",
                                                               "model": model, "content": [], "stop_reason": None,
                                                               "stop_sequence": None, "usage": {**usage, "output_tokens": 1}}}))
        for i, b in enumerate(blocks):
            if b["type"] == "text":
                out.append(chunk({"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}}))
                for p in pieces(b["text"], 6):
                    out.append(chunk({"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": p}}))
            elif b["type"] == "tool_use":
                out.append(chunk({"type": "content_block_start", "index": i,
                                  "content_block": {"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}))
                for p in pieces(json.dumps(b["input"]), 4):
                    out.append(chunk({"type": "content_block_delta", "index": i,
                                      "delta": {"type": "input_json_delta", "partial_json": p}}))
            out.append(chunk({"type": "content_block_stop", "index": i}))
        out.append(chunk({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                          "usage": {"output_tokens": out_tok}}))
        out.append(chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
            "inputTokenCount": in_tok, "outputTokenCount": out_tok, "invocationLatency": 200, "firstByteLatency": 50}}))
        # Write at awkward boundaries: frames are cut and joined across writes.
        data = b"".join(out)
        for i in range(0, len(data), 37):
            piece = data[i:i + 37]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            time.sleep(ARGS.delay)
        self.wfile.write(b"0\r\n\r\n")


def main():
    global ARGS, plan_response
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe-dir", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--capture", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--session-token")
    ap.add_argument("--delay", type=float, default=0.01)
    ap.add_argument("--lifetime", type=float, default=600)
    ARGS = ap.parse_args()
    sys.path.insert(0, ARGS.probe_dir)
    from mock_anthropic import plan_response as pr  # the probe's own script
    plan_response = pr
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(ARGS.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    threading.Timer(ARGS.lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
