"""`crm run`: what `make run` starts — one command, everything a newcomer needs.

Starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are
unset, applies migrations, loads demo data on first start, then serves the app
on http://127.0.0.1:5000 (or --host/--port) with an RQ worker (and its scheduler).
Ctrl-C stops everything it started. Unless APP_BASE_URL is configured, the links the
app e-mails and redirects to point at the address it serves.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def _running_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    return pid if pid != os.getpid() else None


def _wait_until_serving(host: str, port: int, children, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(c.poll() is None for c in children):
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)


def _print_banner(host: str, port: int, seconds: float) -> None:
    from app.demo_data import DEMO_LOGINS

    lines = [f"  CRM ready in {seconds:.0f}s on http://{host}:{port}   (Ctrl-C stops everything)", "",
             "  Demo sign-ins:"]
    lines += [f"    {d['role']:<9} {d['email']:<26} {d['password']}" for d in DEMO_LOGINS]
    width = max(len(line) for line in lines) + 2
    print("\n" + "=" * width + "\n" + "\n".join(lines) + "\n" + "=" * width + "\n", flush=True)


def _configured(name: str, environ: dict) -> bool:
    """Set to something in the environment, or in the .env / .flaskenv `flask` reads."""
    if environ.get(name):
        return True
    from dotenv import dotenv_values

    return any(dotenv_values(ROOT / f).get(name) for f in (".env", ".flaskenv"))


def served_base_url(host: str, port: int) -> str:
    """The URL a browser on this machine reaches `host:port` at."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def child_env(environ: dict, *, host: str, port: int, database_url: str, redis_url: str,
              instance: Path) -> dict:
    """The environment of the processes `crm run` starts (migrations, worker, web)."""
    env = dict(environ)
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, CRM_INSTANCE_PATH=str(instance))
    env.setdefault("CRM_ENV", "development")
    if not _configured("APP_BASE_URL", environ):
        # E-mailed pay links and the post-payment redirect must reach this server.
        env["APP_BASE_URL"] = served_base_url(host, port)
    return env


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(host: str = "127.0.0.1", port: int = 5000) -> int:
    from app.devservices import ensure_services

    started = time.monotonic()
    instance = Path(os.environ.get("CRM_INSTANCE_PATH", ROOT / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    pidfile = instance / "crm-run.pid"
    other = _running_pid(pidfile)
    if other:
        # Two runs on one instance would share (and stop) each other's PostgreSQL and Redis.
        print(f"! another `crm run` (pid {other}) is using {instance}: stop it first, or wait "
              "a few seconds if it is shutting down", file=sys.stderr)
        return 1
    pidfile.write_text(str(os.getpid()))
    print("• starting backing services (embedded PostgreSQL and Redis unless configured)…", flush=True)
    services = ensure_services(instance)
    env = child_env(os.environ, host=host, port=port, database_url=services.database_url,
                    redis_url=services.redis_url, instance=instance)
    children: list[subprocess.Popen] = []

    def stop_all(*_):
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()

    try:
        print("• applying migrations…", flush=True)
        subprocess.run(_flask("db", "upgrade"), cwd=ROOT, env=env, check=True)
        print("• loading demo data (first start only)…", flush=True)
        subprocess.run(_flask("demo-data", "--if-empty"), cwd=ROOT, env=env, check=True)
        children.append(subprocess.Popen(_flask("worker", "--with-scheduler"), cwd=ROOT, env=env))
        children.append(subprocess.Popen(
            _flask("run", "--host", host, "--port", str(port), "--no-reload"), cwd=ROOT, env=env))
        _wait_until_serving(host, port, children)
        _print_banner(host, port, time.monotonic() - started)
        signal.signal(signal.SIGTERM, _interrupt)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1  # a child died on its own
    except KeyboardInterrupt:
        print("\n• stopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"! {' '.join(exc.cmd[3:])} failed with exit code {exc.returncode}", file=sys.stderr)
        return exc.returncode
    finally:
        stop_all()
        pidfile.unlink(missing_ok=True)
        print("• stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="crm")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="serve the app with a worker and embedded services")
    run_parser.add_argument("--host", default="127.0.0.1")
    run_parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)
    if args.command == "run":
        return run(args.host, args.port)
    return 2


if __name__ == "__main__":
    sys.exit(main())
