#!/usr/bin/env python3
"""Claude Code signs in to switchyard with the company's identity provider,
the way `/login` does it with a gateway, then works through it.

A mock OpenID Connect provider (mock_idp.py) stands in for the company's;
Claude Code's own sign-in (`claude auth login --gateway-json`, the
scriptable form of the `/login` screen: it writes each screen as a JSON
line and reads the person's answers) is pointed at the gateway by the
developer's settings (`forceLoginMethod: "gateway"`, `forceLoginGatewayUrl`).
The browser part — open the link Claude Code shows, confirm the code, sign
in at the provider, come back — is done with urllib and a cookie jar.

The same sign-in is then done the way a person does it: `claude` in a
terminal (tmux), its /login screens answered key by key, a prompt typed.

Checked: Claude Code reaches its "done" screen after confirming the account
the provider named; it takes the group's managed settings from the gateway
(`availableModels` and `model`: haiku only); `claude -p` then answers
through a routed tier on the group's model with the stored session token
and no API key anywhere; the ledger row carries the signed-in user and their
team; asking for another model is restricted by Claude Code and refused by
the gateway; after the admin revokes the user, Claude Code's next request
is refused at once. In the terminal, under a daily spend limit the admin
set through `/v1/organizations/spend_limits`, Claude Code shows its "You've
used NN%" warning and then stops with the gateway's billing_error message.
Prints PASS/FAIL lines; exit status 0 when all pass.
"""
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import ledger_rows, report, runner_setup, start_gateway, start_mock, stop  # noqa: E402

MASTER = "sk-switchyard-signin-probe-master"
EMAIL = "ada@example.com"


def browser_approves(gateway, screen):
    """Open the link Claude Code shows, confirm its code, sign in at the
    provider and come back; the last page's text."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(screen.get("browserUrl") or screen["verificationUri"], timeout=10).read().decode()
    if screen["userCode"] not in page:
        return f"the page does not show the code {screen['userCode']}"
    form = urllib.parse.urlencode({"user_code": screen["userCode"]}).encode()
    req = urllib.request.Request(gateway + "/device", data=form, headers={"Origin": gateway})
    return opener.open(req, timeout=10).read().decode()


def sign_in(claude, home, gateway, log):
    """Drive `claude auth login --gateway-json`; the screens seen and the
    browser's last page."""
    env = dict(os.environ, HOME=home)
    for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        env.pop(k, None)
    proc = subprocess.Popen([claude, "auth", "login", "--gateway-json"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    screens, page = [], ""
    try:
        for line in proc.stdout:
            screen = json.loads(line)
            screens.append(screen)
            state = screen["state"]
            if state in ("url_input", "trust_prompt", "confirm_account"):
                answer = {"state": state, "shown": screen["shown"], "accept": True}
                proc.stdin.write(json.dumps(answer) + "\n")
                proc.stdin.flush()
            elif state == "polling" and not page:
                page = browser_approves(gateway, screen)
            elif state in ("done", "error", "cancelled"):
                break
    finally:
        proc.stdin.close()
        proc.wait(30)
    return screens, page


def tmux(*args):
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen():
    return tmux("capture-pane", "-t", "cc-signin", "-p", "-J")


def interactive_login(claude, home, gateway, deadline=150):
    """`/login` as a person does it: Claude Code's own screens in a terminal
    (tmux), answered key by key, the browser part as in `browser_approves`,
    then one prompt typed and answered. Returns (screens seen, last screen)."""
    os.makedirs(os.path.join(home, "work"), exist_ok=True)
    env_unset = " ".join(f"-u {k}" for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"))
    tmux("kill-session", "-t", "cc-signin")
    tmux("new-session", "-d", "-s", "cc-signin", "-x", "160", "-y", "50",
         f"cd {home}/work && env {env_unset} HOME={home} {claude}")
    seen, typed, started = [], False, time.time()
    steps = [  # (text on the screen, name, keys)
        ("Choose the text style", "theme", ["Enter"]),
        ("Enter to connect", "gateway url", ["Enter"]),
        ("Trust gateway", "trust", ["Up", "Enter"]),
        ("Signed in to Cloud gateway as", "confirm account", ["Up", "Enter"]),
        ("Connected to Cloud gateway", "connected", ["Enter"]),
        ("Security notes", "security notes", ["Enter"]),
        ("Yes, I trust this folder", "trust folder", ["Down", "Enter"]),
    ]
    text = ""
    while time.time() - started < deadline:
        time.sleep(1)
        text = screen()
        if "PROBE_HELLO_OK" in text:
            seen.append("answered")
            break
        code = re.search(r"Code:\s+([A-Z]{4}-[A-Z]{4})", text)
        if code and "code" not in seen:
            seen.append("code")
            browser_approves(gateway, {"userCode": code.group(1),
                                       "browserUrl": f"{gateway}/device?user_code={code.group(1)}"})
            continue
        for marker, name, keys in steps:
            if marker in text and (not seen or seen[-1] != name):
                seen.append(name)
                for k in keys:
                    tmux("send-keys", "-t", "cc-signin", k)
                    time.sleep(0.3)
                break
        else:
            if "? for shortcuts" in text and not typed:
                typed = True
                seen.append("prompt")
                tmux("send-keys", "-t", "cc-signin", "Say hello")
                time.sleep(0.3)
                tmux("send-keys", "-t", "cc-signin", "Enter")
    tmux("kill-session", "-t", "cc-signin")
    return seen, text


def admin(gateway, method, path, body=None):
    """The admin API with the master key; (status, JSON)."""
    req = urllib.request.Request(gateway + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"x-api-key": MASTER, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def spent_cents(args, config):
    """What EMAIL has spent so far, in cents, from the ledger."""
    rows = [r for r in ledger_rows(args, config) if r.get("user_id") == EMAIL]
    return sum(float(r.get("cost_usd") or 0) for r in rows) * 100


def terminal_spend_limit(claude, home, deadline=150):
    """A signed-in developer at a terminal works until the spend limit the
    admin set stops them: prompts typed one after another; the screens.
    Returns (warned, stopped, last screen)."""
    tmux("kill-session", "-t", "cc-signin")
    env_unset = " ".join(f"-u {k}" for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"))
    # With focus events on, Claude Code has no tmux notice to show and
    # its notification line is free for the usage warning.
    tmux("new-session", "-d", "-s", "cc-signin", "-x", "160", "-y", "50",
         f"cd {home}/work && env {env_unset} HOME={home} {claude}", ";", "set", "-g", "focus-events", "on")
    warned = stopped = False
    typed, started, text, shots = 0, time.time(), "", []
    while time.time() - started < deadline:
        time.sleep(1)
        text = tmux("capture-pane", "-t", "cc-signin", "-p", "-J", "-S", "-3000")
        warned |= re.search(r"You've used \d+% of your|Over \d+% of your|Approaching usage", text) is not None
        if "is used up" in text:
            stopped = True
            break
        # The next prompt once the last one is answered.
        if "? for shortcuts" in text and text.count("PROBE_HELLO_OK") >= typed and typed < 8:
            typed += 1
            shots.append(text)
            tmux("send-keys", "-t", "cc-signin", "Say hello")
            time.sleep(0.3)
            tmux("send-keys", "-t", "cc-signin", "Enter")
    tmux("kill-session", "-t", "cc-signin")
    return warned, stopped, "\n----\n".join(shots[-1:] + [text])


def ask(claude, home, prompt, *more):
    env = dict(os.environ, HOME=home)
    for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        env.pop(k, None)
    work = os.path.join(home, "work")
    os.makedirs(work, exist_ok=True)
    return subprocess.run([claude, "-p", prompt, "--output-format", "json", *more], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def main():
    args, probe, out = runner_setup("cc-signin-")
    gw = idp = mock = None
    checks = []
    try:
        idp, idp_port = start_mock(out, os.path.join(HERE, "mock_idp.py"), "--email", EMAIL,
                                   "--groups", "engineering,payments")
        os.rename(os.path.join(out, "mock.port"), os.path.join(out, "idp.port"))
        mock, mock_port = start_mock(out, os.path.join(args.probe_dir, "mock_anthropic.py"),
                                     "--capture-dir", os.path.join(out, "captures"))
        gw, config, url = start_gateway(args, out, f'''master_key = "{MASTER}"
database_url = "sqlite://{out}/ledger.db"

[signin]
issuer = "http://127.0.0.1:{idp_port}"
client_id = "switchyard-cc"
client_secret = "cc-idp-secret"
teams = ["payments"]
allowed_groups = ["engineering"]

[[signin.policies]]
name = "payments"
groups = ["payments"]
available_models = ["haiku"]
settings = {{ permissions = {{ deny = ["WebFetch"] }} }}

[providers.anthropic]
kind = "anthropic"
base_url = "http://127.0.0.1:{mock_port}"
api_key = "sk-ant-signin-upstream"

[models.haiku]
provider = "anthropic"
id = "claude-haiku-5-5"

[models.sonnet]
provider = "anthropic"
id = "claude-sonnet-5-5"

[tiers]
local = ["haiku"]
cheap = ["haiku"]
premium = ["sonnet"]
baseline = "sonnet"
''')
        print(f"INFO  gateway {url}, mock OIDC provider :{idp_port}, mock Anthropic :{mock_port}; artefacts {out}",
              flush=True)
        home = os.path.join(out, "home")
        os.makedirs(os.path.join(home, ".claude"), exist_ok=True)
        with open(os.path.join(home, ".claude", "settings.json"), "w") as f:
            json.dump({"forceLoginMethod": "gateway", "forceLoginGatewayUrl": url}, f)

        with open(os.path.join(out, "claude-login.log"), "w") as log:
            screens, page = sign_in(args.claude, home, url, log)
        states = [s["state"] for s in screens]
        account = next((s["shown"] for s in screens if s["state"] == "confirm_account"), None)
        checks.append(("Claude Code's sign-in screens end in done", states[-1:] == ["done"], states))
        checks.append(("the browser signed in at the identity provider", f"Signed in as {EMAIL}" in page,
                       page[-120:]))
        checks.append(("Claude Code asked to confirm the provider's account", account == EMAIL, account))

        run = ask(args.claude, home, "Say hello")
        result = json.loads(run.stdout or "{}") if run.stdout.strip().startswith("{") else {}
        checks.append(("claude -p answers with the session token", run.returncode == 0
                       and not result.get("is_error") and result.get("result"),
                       f"rc {run.returncode} {str(result.get('result'))[:60]!r} {run.stderr[-200:]!r}"))
        rows = []
        for _ in range(50):
            rows = [r for r in ledger_rows(args, config) if r.get("status") == 200]
            if rows:
                break
            time.sleep(0.2)
        row = rows[-1] if rows else {}
        checks.append(("the ledger names the signed-in user and team",
                       row.get("user_id") == EMAIL and row.get("team") == "payments"
                       and row.get("key_id") == f"signin:{EMAIL}" and row.get("tier") is not None,
                       {k: row.get(k) for k in ("key_id", "user_id", "team", "tier", "model")}))
        pushed = {}
        try:
            with open(os.path.join(home, ".claude", "remote-settings.json")) as f:
                pushed = json.load(f)
        except (OSError, ValueError):
            pass
        checks.append(("the group's managed settings reached Claude Code",
                       pushed.get("availableModels") == ["haiku"] and pushed.get("model") == "haiku",
                       pushed))
        checks.append(("the session started on the group's model",
                       "haiku" in str(row.get("requested_model") or row.get("requested") or ""),
                       {k: row.get(k) for k in ("requested_model", "requested", "model")}))
        other = ask(args.claude, home, "Say hello", "--model", "sonnet")
        said = other.stdout + other.stderr
        refused = said.split("may not use model", 1)[1][:40] if "may not use model" in said else ""
        # Claude Code will not send the restricted model (it substitutes its
        # default, saying so on a terminal), and the gateway refuses that.
        checks.append(("another model is restricted by Claude Code and refused by the gateway",
                       refused != "" and "sonnet" not in refused, said[-220:]))
        seen = []
        for root, _, files in os.walk(os.path.join(out, "captures")):
            seen += [open(os.path.join(root, f)).read() for f in files]
        leaked = any("eyJ" in s and "authorization" in s.lower() and "Bearer eyJ" in s for s in seen)
        checks.append(("the session token never reaches the upstream", not leaked, f"{len(seen)} captures"))

        # The same sign-in as a person does it at a terminal: `claude`, then
        # the /login screens, then a prompt.
        if shutil.which("tmux"):
            home2 = os.path.join(out, "home-terminal")
            os.makedirs(os.path.join(home2, ".claude"), exist_ok=True)
            with open(os.path.join(home2, ".claude", "settings.json"), "w") as f:
                json.dump({"forceLoginMethod": "gateway", "forceLoginGatewayUrl": url}, f)
            seen, last = interactive_login(args.claude, home2, url)
            with open(os.path.join(out, "terminal.txt"), "w") as f:
                f.write(last)
            checks.append(("in a terminal, /login signs in and a typed prompt is answered",
                           "confirm account" in seen and seen[-1:] == ["answered"]
                           and "(from managed settings)" in last, seen))
            # A daily spend limit set through the admin API: Claude Code
            # warns past 75% and stops with the gateway's message at it.
            # Each request reserves its most cost first (Claude Code's
            # max_tokens of output at the dearest model that may serve it,
            # ~41 cents here) and the standing counts what is reserved: a
            # limit just above (spent + 41) / 0.75 lets the first prompt
            # through unwarned, warns once a few cents more are spent, and
            # stops a few prompts later.
            cents = int((spent_cents(args, config) + 41) / 0.75) + 2
            status, made = admin(url, "POST", "/v1/organizations/spend_limits",
                                 {"scope": {"type": "user", "user_id": EMAIL}, "period": "daily",
                                  "amount": str(cents)})
            checks.append(("the admin API sets a daily limit for the developer",
                           status == 200 and made.get("amount") == str(cents), made))
            warned, stopped, shown = terminal_spend_limit(args.claude, home2)
            with open(os.path.join(out, "terminal-spend.txt"), "w") as f:
                f.write(shown)
            checks.append(("Claude Code warns as the developer nears the limit", warned, shown[-400:]))
            checks.append(("Claude Code stops with the gateway's message at the limit", stopped, shown[-400:]))
            status, _ = admin(url, "DELETE", f"/v1/organizations/spend_limits/{made.get('id')}")
            checks.append(("the limit is deleted through the admin API", status == 200, status))
        else:
            checks.append(("tmux is installed for the terminal sign-in", False, "apt-get install tmux"))

        req = urllib.request.Request(url + "/admin/signin/revoke", data=json.dumps({"user": EMAIL}).encode(),
                                     headers={"authorization": f"Bearer {MASTER}",
                                              "content-type": "application/json"})
        revoked = urllib.request.urlopen(req, timeout=5).status == 200
        started = time.time()
        run = ask(args.claude, home, "Say hello again")
        took = time.time() - started
        text = run.stdout + run.stderr
        # Claude Code answers a refused session with its own sign-in-again line.
        checks.append(("after revocation Claude Code stops at once and asks to sign in again",
                       revoked and run.returncode != 0 and "sign in again" in text and took < 30,
                       f"rc {run.returncode} in {took:.1f} s: {text[-160:]!r}"))

    finally:
        stop(gw, idp, mock)
    report("Claude Code sign-in", checks)


if __name__ == "__main__":
    main()
