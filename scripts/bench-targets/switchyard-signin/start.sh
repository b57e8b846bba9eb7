#!/usr/bin/env bash
# Started by ../shared/bench/bench.py with env: PORT MOCK_URL API_KEY RUN_DIR GW_DIR BENCH_DIR.
# The bench's mock OIDC issuer and sign-in helper (gateways/claude-gateway/) run detached from
# this process tree; switchyard is exec'ed, so the bench measures it alone.
set -euo pipefail
BIN="${SWITCHYARD_BIN:?set SWITCHYARD_BIN}"
CAGW="${BENCH_DIR:?}/gateways/claude-gateway"
IDP_PORT="$((PORT + 1000))"
SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
SESSION="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
rm -f "$RUN_DIR/session.token" "$RUN_DIR/ledger.db"*
python3 - "$RUN_DIR/switchyard.toml" <<PY
import sys
m, port, key, run = "$MOCK_URL", "$PORT", "$API_KEY", "$RUN_DIR"
out = [f'listen = "127.0.0.1:{port}"', f'master_key = "{key}"', f'database_url = "sqlite://{run}/ledger.db"', "",
       "[signin]", 'issuer = "http://127.0.0.1:$IDP_PORT"', 'client_id = "claude-gateway-bench"',
       'client_secret = "$SECRET"', 'session_secret = "$SESSION"', 'session_ttl = "24h"', ""]
for v, p in [("", ""), ("-stream", "/stream"), ("-delay", "/delay"), ("-delay-stream", "/delay/stream")]:
    n = v.strip("-").replace("-", "_") or "plain"
    out += [f'[providers.ant_{n}]', 'kind = "anthropic"', f'base_url = "{m}{p}"', 'api_key = "sk-ant-mock"', "",
            f'[models."mock-claude{v}"]', f'provider = "ant_{n}"', 'id = "mock-claude"',
            'price = { input = 3, output = 15 }', ""]
open(sys.argv[1], "w").write("\n".join(out))
PY
( exec python3 "$CAGW/mock_oidc.py" --port "$IDP_PORT" --client-secret "$SECRET" --quiet \
    > "$RUN_DIR/mock_oidc.log" 2>&1 & )
for _ in $(seq 1 100); do    # it makes its RSA key in pure Python first
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$IDP_PORT/health', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
# Once the gateway answers: sign in, set the limits, then hand the bench the token.
( exec python3 - "http://127.0.0.1:$PORT" "$API_KEY" "$RUN_DIR" "$CAGW" > "$RUN_DIR/signin.log" 2>&1 <<'PY' &
import json, subprocess, sys, urllib.request
base, key, run, cagw = sys.argv[1:5]
subprocess.run([sys.executable, f"{cagw}/signin.py", base, "--out", f"{run}/grant.json", "--wait", "60"], check=True)
me = json.load(open(f"{run}/grant.json"))["access_token"]
who = json.loads(urllib.request.urlopen(urllib.request.Request(
    base + "/v1/key", headers={"authorization": f"Bearer {me}"})).read())
user = who["data"]["user"]
for scope, period, cents in [({"type": "user", "user_id": user}, "daily", "100000000"),
                             ({"type": "organization"}, "monthly", "1000000000")]:
    req = urllib.request.Request(base + "/v1/organizations/spend_limits", method="POST",
                                 data=json.dumps({"scope": scope, "period": period, "amount": cents}).encode(),
                                 headers={"x-api-key": key, "content-type": "application/json"})
    print(urllib.request.urlopen(req).read().decode())
open(f"{run}/session.token", "w").write(me)
PY
)
cd "$RUN_DIR"
export RUST_LOG="${RUST_LOG:-warn}"
exec "$BIN" serve --config "$RUN_DIR/switchyard.toml"
