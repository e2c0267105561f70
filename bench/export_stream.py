"""A whole list as CSV against the bench database: first bytes, total time, rows, and the
memory the stream holds (tracemalloc peak of the streaming, and the process's peak RSS).

    python -m bench.export_stream                    # /export/leads.csv, every lead
    python -m bench.export_stream --path "/export/leads.csv?sort=created"

Signs in as bench-admin (as bench.run does), reads the response chunk by chunk as a client
would (the test client, not buffered) and drops each chunk once counted.
"""
from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
import tracemalloc


def measure(client, path: str) -> dict:
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    response = client.get(path, buffered=False)
    first = None
    size = lines = 0
    for chunk in response.response:
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    total = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"status": response.status_code, "first_bytes_ms": round((first or 0) * 1000, 1),
            "total_s": round(total, 1), "rows": max(0, lines - 1), "mb": round(size / 1e6, 1),
            "tracemalloc_peak_mb": round(peak / 1e6, 1),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def main(argv: list[str] | None = None) -> int:
    from bench.generate import start_bench_postgres
    from bench.run import sign_in, start_redis

    parser = argparse.ArgumentParser(prog="python -m bench.export_stream", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: the embedded bench server")
    parser.add_argument("--path", default="/export/leads.csv")
    args = parser.parse_args(argv)
    server = None
    url = args.database_url
    if not url:
        server, url = start_bench_postgres()
    redis, redis_url = start_redis()
    try:
        from app import create_app
        from app.config import sqlalchemy_url

        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "REDIS_URL": redis_url,
                          "RATELIMIT_STORAGE_URI": redis_url.replace("unix://", "redis+unix://", 1)})
        logging.getLogger("crm.request").setLevel(logging.WARNING)
        client = app.test_client()
        sign_in(app, client)
        client.get("/")  # warm: templates, metadata
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = measure(client, args.path)
        result["max_rss_before_mb"] = round(rss_before, 1)
        print(f"{args.path}: " + ", ".join(f"{k} {v}" for k, v in result.items()))
        return 0 if result["status"] == 200 else 1
    finally:
        from app.devservices import stop_redis

        stop_redis(redis)
        del server


if __name__ == "__main__":
    sys.exit(main())
