"""`flask --app wsgi <command>`: create-user, demo-data, worker, backup, restore."""
from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.auth.models import UserRole


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--role", type=click.Choice([r.value for r in UserRole]), default=UserRole.ADMIN.value,
              show_default=True)
@click.password_option("--password", help="Prompted for when not given.")
def create_user_command(email, first_name, last_name, role, password):
    """Create a user who can sign in right away."""
    from app.auth.passwords import MIN_LENGTH
    from app.auth.services import AccountError, create_user
    from app.extensions import db

    if len(password) < MIN_LENGTH:
        raise click.BadParameter(f"use at least {MIN_LENGTH} characters", param_hint="--password")
    try:
        user = create_user(email=email, first_name=first_name, last_name=last_name,
                           role=UserRole(role), password=password)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"created {user.email} ({user.role.value})")


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
@click.option("--companies", default=500, show_default=True)
def demo_data_command(if_empty, companies):
    """Load deterministic demo data for a GPS-tracker seller."""
    from app.demo_data import DEMO_LOGINS, load_demo_data

    loaded = load_demo_data(companies=companies, if_empty=if_empty)
    if loaded:
        click.echo(f"demo data loaded: {loaded}")
    else:
        click.echo("demo data already present; nothing loaded")
    for login in DEMO_LOGINS:
        click.echo(f"  {login['role']:<9} {login['email']:<28} {login['password']}")


@click.command("worker")
@click.option("--with-scheduler/--no-scheduler", default=True, show_default=True)
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then exit.")
@click.argument("queues", nargs=-1)
def worker_command(with_scheduler, burst, queues):
    """Run an RQ worker on the named queues (all by default)."""
    from app.queue import QUEUES

    names = queues or QUEUES
    import logging

    # One line per job comes from app.queue.run_job; RQ's own five per job are noise.
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("rq.worker").setLevel(logging.WARNING)
    if with_scheduler:
        register_periodic_jobs(names)
    from app.job_outbox.relay import start_relay

    start_relay()  # push what committed while no worker ran, then relay every few seconds
    work_until_stopped(names, with_scheduler=with_scheduler, burst=burst)


def work_until_stopped(names, *, with_scheduler: bool, burst: bool) -> None:
    """RQ's work loop, started again when Redis goes away under it. RQ survives a lost
    connection only inside its blocking pop: one lost in its suspension or maintenance checks
    ends `work()` ("unhandled exception, quitting"), and a worker that quits on every Redis
    blink would leave the relay and the periodic jobs without a process. A requested stop
    (SIGTERM, Ctrl-C) and a burst run end it for good."""
    import time

    from redis.exceptions import RedisError

    first = True
    while True:
        worker = None
        try:
            if with_scheduler and not first:
                register_periodic_jobs(names)  # Redis may have come back empty
            first = False
            worker = make_worker(names)
            current_app.logger.info("worker on queues %s", ", ".join(names))
            worker.work(with_scheduler=with_scheduler, burst=burst)
        except RedisError as exc:
            if burst:
                raise
            current_app.logger.warning("worker: Redis unavailable (%s); starting again in 2 s", exc)
        if burst or (worker is not None and worker._stop_requested):
            return
        time.sleep(2)


def register_periodic_jobs(queue_names) -> None:
    """Every worker start re-registers the periodic jobs of its queues (app/schedule.py)."""
    from app.queue import redis_connection
    from app.schedule import register_periodic_jobs as register

    registered = register(redis_connection(), queue_names)
    if registered:
        current_app.logger.info("periodic jobs: %s", ", ".join(registered))


def make_worker(queue_names):
    """RQ's worker with frequent heartbeats and a supervised scheduler (app/worker.py)."""
    from redis import Redis

    from app.extensions import redis_options
    from app.queue import get_queue
    from app.worker import Health, Worker

    # A connection of its own: RQ raises its read timeout above the blocking pop (minutes), which
    # on the shared connection would let a frozen Redis hang the relay and the jobs' own calls.
    connection = Redis.from_url(current_app.config["REDIS_URL"], **redis_options(current_app.config))
    return Worker([get_queue(n) for n in queue_names], connection=connection,
                  health=Health.from_config(current_app.config))


_pg_bin_dir = click.option(
    "--pg-bin-dir", envvar="PG_BIN_DIR", type=click.Path(file_okay=False),
    help="Directory of pg_dump/pg_restore [env PG_BIN_DIR]; default: the embedded server's "
         "in development, else PATH.")


@click.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@_pg_bin_dir
@with_appcontext
def backup_command(path, pg_bin_dir):
    """Dump the database (pg_dump custom format) to PATH (default instance/backups/<UTC time>.dump)."""
    from app.backup import BackupError, backup_database, default_backup_path

    path = path or default_backup_path(current_app.instance_path)
    try:
        written = backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], path, bin_dir=pg_bin_dir,
                                  production=current_app.config["ENV"] == "production")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"backup written to {written} ({written.stat().st_size:,} bytes)")


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_pg_bin_dir
@with_appcontext
def restore_command(file, pg_bin_dir):
    """Load a dump written by `backup` into the configured database, which must be empty."""
    from app.backup import BackupError, restore_database

    try:
        restore_database(current_app.config["SQLALCHEMY_DATABASE_URI"], file, bin_dir=pg_bin_dir,
                         production=current_app.config["ENV"] == "production")
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {file}")
