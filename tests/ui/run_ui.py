"""The dashboard end to end, in a real headless Chromium.

Starts the mock upstream (`switchyard bench --mock-only`) and a gateway with a
master key, a dead provider (for failures and fallbacks) and a cached route;
sends a mixed run of requests; then drives Chromium through chromedriver's
W3C WebDriver API: the sign-in, each page, the totals against the admin
JSON API (the same numbers as `switchyard report`), a CSV export fetched from
the page. Screenshots of every page go to the artifacts directory.

usage: run_ui.py SWITCHYARD_BINARY ARTIFACTS_DIR
"""
import base64
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "claude_code"))
from harness import free_port, wait_health  # noqa: E402

KEY = "sk-ui-test-master"


def post(url, body, headers=None):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("content-type", "application/json")
    req.add_header("x-api-key", KEY)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def get_json(url):
    req = urllib.request.Request(url, headers={"x-api-key": KEY})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


class Browser:
    """Just enough of the W3C WebDriver protocol."""

    def __init__(self, driver_url):
        self.base = driver_url
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": shutil.which("chromium") or "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--window-size=1280,1000"],
            },
        }}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("content-type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read())["value"]
        except urllib.error.HTTPError as e:
            raise SystemExit(f"webdriver {method} {path}: {e.code} {e.read()[:400]!r}")

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def url(self):
        return self.s("GET", "/url")

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args):
        return self.s("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css):
        el = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(el.values()))

    def type(self, css, text):
        self.s("POST", f"/element/{self.find(css)}/value", {"text": text})

    def click(self, css):
        self.s("POST", f"/element/{self.find(css)}/click", {})

    def text(self):
        return self.js("return document.body.innerText")

    def screenshot(self, path, width=1280):
        self.s("POST", "/window/rect", {"width": width, "height": 1000})
        height = self.js("return document.documentElement.scrollHeight")
        self.s("POST", "/window/rect", {"width": width, "height": min(max(height + 40, 600), 4000)})
        png = base64.b64decode(self.s("GET", "/screenshot"))
        open(path, "wb").write(png)
        self.s("POST", "/window/rect", {"width": 1280, "height": 1000})

    def wait(self, what, check, seconds=10):
        """Wait until check() holds (a click's page load may still run)."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if check():
                    return
            except SystemExit:
                pass
            time.sleep(0.1)
        raise SystemExit(f"timed out waiting for {what}; at {self.url()}:\n{self.text()[:2000]}")

    def quit(self):
        try:
            self.call("DELETE", f"/session/{self.session}")
        except SystemExit:
            pass


def config(listen, mock, dead, db):
    return f'''listen = "{listen}"
master_key = "{KEY}"
database_url = "sqlite://{db}"
retry = {{ attempts = 1 }}

[providers.mock]
kind = "anthropic"
base_url = "http://{mock}"
api_key = "upstream-key"

[providers.dead]
kind = "anthropic"
base_url = "http://{dead}"
api_key = "upstream-key"

[models.sonnet]
provider = "mock"
id = "claude-sonnet-4-5"

[models.haiku]
provider = "mock"
id = "claude-haiku-4-5"

[models.dead-haiku]
provider = "dead"
id = "claude-haiku-4-5-dead"

[models.broken]
provider = "dead"
id = "claude-sonnet-4-5-dead"

[tiers]
cheap = ["haiku"]
premium = ["sonnet"]
baseline = "sonnet"

[cache]
exact = false

[[routes]]
name = "faq"
match = {{ model = "faq" }}
model = "haiku"
cache = {{ exact = true }}

[[routes]]
name = "fallback"
match = {{ model = "fb" }}
targets = ["dead-haiku", "haiku"]

[[routes]]
name = "redacted"
match = {{ model = "secret" }}
model = "haiku"
guard = "redact"
'''


def mixed_run(gw):
    """Successes on two tiers, fallbacks, failures, cache hits, sessions."""
    ask = lambda model, session, text="Summarise Hamlet.": post(  # noqa: E731
        gw + "/v1/messages",
        {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]},
        {"x-claude-code-session-id": session, "x-claude-code-agent-id": "main"},
    )
    statuses = []
    for i in range(4):
        statuses.append(ask("sonnet", "sess-expensive", f"Refactor module {i}")[0])
    for i in range(6):
        statuses.append(ask("haiku", "sess-cheap", f"Rename variable {i}")[0])
    for _ in range(3):
        statuses.append(ask("fb", "sess-cheap")[0])
    for _ in range(2):
        statuses.append(ask("broken", "sess-broken")[0])
    for _ in range(3):
        statuses.append(ask("faq", "sess-faq", "What is the capital of France?")[0])
    statuses.append(ask("secret", "sess-secret", "Why does postgres://app:hunter2hunter2@db:5432/app fail?")[0])
    assert statuses.count(200) == 17 and statuses.count(502) == 2, statuses


def main():
    binary, artifacts = sys.argv[1], sys.argv[2]
    os.makedirs(artifacts, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="switchyard-ui-")
    procs = []
    browser = None
    try:
        mock = f"127.0.0.1:{free_port()}"
        procs.append(subprocess.Popen([binary, "bench", "--mock-only", "--mock-listen", mock],
                                      stderr=subprocess.DEVNULL))
        listen = f"127.0.0.1:{free_port()}"
        cfg = os.path.join(tmp, "switchyard.toml")
        open(cfg, "w").write(config(listen, mock, f"127.0.0.1:{free_port()}", os.path.join(tmp, "ledger.db")))
        gw_log = open(os.path.join(artifacts, "gateway.log"), "w")
        gateway = subprocess.Popen([binary, "serve", "--config", cfg], stderr=gw_log)
        procs.append(gateway)
        gw = "http://" + listen
        wait_health(gw, gateway)
        time.sleep(0.3)  # the mock
        mixed_run(gw)
        time.sleep(1.0)  # the ledger writes in batches every 250 ms

        port = free_port()
        procs.append(subprocess.Popen(["chromedriver", f"--port={port}"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        time.sleep(1.0)
        browser = Browser(f"http://127.0.0.1:{port}")

        # Signed out: every page leads to the sign-in form; a wrong key is refused.
        browser.go(gw + "/ui/spend")
        assert browser.url().endswith("/ui/login"), browser.url()
        browser.screenshot(os.path.join(artifacts, "login.png"), 800)
        browser.type("#key", "not-the-key")
        browser.click("button[type=submit]")
        browser.wait("the refusal", lambda: "not the master key" in browser.text())
        browser.type("#key", KEY)
        browser.click("button[type=submit]")
        browser.wait("the overview", lambda: browser.url().rstrip("/").endswith("/ui"))
        cookie = browser.s("GET", "/cookie/switchyard_ui")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        assert KEY not in cookie["value"] and KEY not in browser.url()

        # The overview's totals are the report's.
        report = get_json(gw + "/admin/report/weekly?format=json")
        today = get_json(gw + "/admin/report/daily?format=json")
        cards = browser.js("const o={};document.querySelectorAll('[data-id]').forEach(e=>o[e.dataset.id]=e.dataset.value);return o")
        s, t = report["summary"], today["summary"]
        assert cards["range-requests"] == str(s["requests"]) == "19", (cards, s)
        assert cards["range-cost"] == str(s["cost_usd"]), (cards, s)
        assert cards["range-savings"] == str(s["savings_pct"]), (cards, s)
        assert cards["range-success"] == str(s["success_rate"]), (cards, s)
        assert cards["range-cache"] == str(s["cache_hit_rate"]), (cards, s)
        assert cards["range-prompt-cache"] == str(s["prompt_cache_read_pct"]), (cards, s)
        assert cards["today-requests"] == str(t["requests"]) and cards["today-cost"] == str(t["cost_usd"])
        assert s["cache_hits"] == 2 and s["failed"] == 2 and s["fallbacks"] == 3, s
        assert browser.js("return document.querySelectorAll('svg rect').length") >= 14  # 7 days x 2
        browser.screenshot(os.path.join(artifacts, "overview.png"))
        browser.screenshot(os.path.join(artifacts, "overview-phone.png"), 390)
        body = browser.text()
        assert "Yesterday" in body and "client aborts" in body, body

        # CSV export of the range shown, fetched by the page with its cookie.
        href = browser.js("return document.getElementById('export-csv').href")
        text = browser.js_async("const done=arguments[arguments.length-1];fetch(arguments[0]).then(r=>r.text()).then(done)", href)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 19, len(rows)
        open(os.path.join(artifacts, "export.csv"), "w").write(text)
        total = sum(float(r["cost_usd"]) for r in rows)
        assert abs(total - float(s["cost_usd"])) < 5e-5, (total, s["cost_usd"])  # the report rounds to 4 places

        for page, must in [("/ui/models", ["haiku", "sonnet", "cheap", "premium"]),
                           ("/ui/spend", ["sess-expensive", "sess-cheap", "Most expensive requests"]),
                           ("/ui/health", ["dead", "mock", "broken", "100.0%"]),
                           ("/ui/guardrails", ["redact connection_string_password", "route redacted", "haiku"])]:
            browser.go(gw + page)
            body = browser.text()
            for m in must:
                assert m in body, (page, m)
            browser.screenshot(os.path.join(artifacts, page.strip("/").replace("/", "-") + ".png"))

        # Drill down: the dearest request, then a session.
        browser.go(gw + "/ui/spend")
        browser.click("table a[href^='/ui/requests/']")
        browser.wait("the request record", lambda: "on the baseline" in browser.text())
        body = browser.text()
        assert "claude-sonnet-4-5" in body
        # The routing reason the client saw, stored and shown.
        for section in ("Routing", "Cost", "Timing", "Who", "Guardrails", "why"):
            assert section in body, (section, body)
        browser.screenshot(os.path.join(artifacts, "request.png"))
        browser.screenshot(os.path.join(artifacts, "request-phone.png"), 390)
        browser.go(gw + "/ui/spend")
        browser.click("a[href^='/ui/sessions/sess-cheap']")
        browser.wait("the session", lambda: "Session sess-cheap" in browser.text())
        assert browser.text().count("req_") == 9, browser.text()
        browser.screenshot(os.path.join(artifacts, "session.png"))
        browser.go(gw + "/ui/guardrails")
        assert "hunter2" not in browser.text(), "no secret on the guardrails page"

        # Signing out ends the session.
        browser.click("header form button")
        browser.wait("the sign-out", lambda: browser.url().endswith("/ui/login"))
        browser.go(gw + "/ui")
        assert browser.url().endswith("/ui/login")
        print(f"dashboard: sign-in, 5 pages, drill-downs, CSV export of {len(rows)} rows, "
              f"totals equal to the report; screenshots in {artifacts}")
    finally:
        if browser:
            browser.quit()
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
