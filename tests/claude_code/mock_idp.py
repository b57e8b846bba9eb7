#!/usr/bin/env python3
"""A small OpenID Connect provider on loopback for the sign-in runner: its
discovery document, an authorization endpoint that signs in the configured
user at once (as a person who is already signed in at the company's
provider would be), and a token endpoint for the authorization code (PKCE
checked) and refreshes, answering HS256 ID tokens signed with the client
secret. Writes its port to --port-file."""
import argparse
import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--client-id", default="switchyard-cc")
ap.add_argument("--client-secret", default="cc-idp-secret")
ap.add_argument("--email", default="ada@example.com")
ap.add_argument("--groups", default="engineering,payments")
args = ap.parse_args()

codes, refreshes = {}, {}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def id_token(issuer, nonce=None):
    now = int(time.time())
    claims = {"iss": issuer, "aud": args.client_id, "sub": "id-" + args.email, "email": args.email,
              "groups": args.groups.split(","), "iat": now, "exp": now + 300}
    if nonce:
        claims["nonce"] = nonce
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(args.client_secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def issuer(self):
        return f"http://127.0.0.1:{self.server.server_port}"

    def reply(self, status, body=None, headers=()):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/.well-known/openid-configuration":
            i = self.issuer()
            return self.reply(200, {"issuer": i, "authorization_endpoint": i + "/authorize",
                                    "token_endpoint": i + "/token", "jwks_uri": i + "/jwks"})
        if url.path == "/authorize":
            if q.get("client_id") != args.client_id or q.get("code_challenge_method") != "S256":
                return self.reply(400, {"error": "invalid_request"})
            code = secrets.token_urlsafe(16)
            codes[code] = q
            to = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
            return self.reply(302, None, [("location", to)])
        self.reply(404, {"error": "not_found"})

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        f = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode()))
        if self.path != "/token":
            return self.reply(404, {"error": "not_found"})
        if f.get("client_id") != args.client_id or f.get("client_secret") != args.client_secret:
            return self.reply(401, {"error": "invalid_client"})
        if f.get("grant_type") == "authorization_code":
            q = codes.pop(f.get("code", ""), None)
            verifier = f.get("code_verifier", "").encode()
            if not q or b64(hashlib.sha256(verifier).digest()) != q["code_challenge"]:
                return self.reply(400, {"error": "invalid_grant"})
            r = secrets.token_urlsafe(16)
            refreshes[r] = True
            return self.reply(200, {"access_token": "idp-at", "token_type": "Bearer", "expires_in": 300,
                                    "id_token": id_token(self.issuer(), q.get("nonce")), "refresh_token": r})
        if f.get("grant_type") == "refresh_token" and f.get("refresh_token") in refreshes:
            return self.reply(200, {"access_token": "idp-at2", "token_type": "Bearer", "expires_in": 300,
                                    "id_token": id_token(self.issuer())})
        self.reply(400, {"error": "invalid_grant"})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file, "w") as fh:
    fh.write(str(server.server_port))
server.serve_forever()
