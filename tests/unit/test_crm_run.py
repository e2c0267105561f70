"""`crm run`: the environment it gives the web process and the worker. The links the app
e-mails and redirects to must reach the port it serves, unless APP_BASE_URL is configured."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from app import cli
from app.config import Config

URLS = dict(database_url="postgresql://db/crm", redis_url="unix:///tmp/r.sock", instance=Path("/tmp/inst"))


@pytest.fixture(autouse=True)
def no_dotenv(monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "ROOT", tmp_path)  # no .env / .flaskenv unless a test writes one
    return tmp_path


def config_of(monkeypatch, env: dict) -> Config:
    """What create_app() reads in a process started with `env`."""
    for key in list(os.environ):
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Config()


def test_a_non_default_port_is_where_the_links_point(monkeypatch):
    env = cli.child_env({"PATH": "/usr/bin"}, host="127.0.0.1", port=5077, **URLS)

    assert env["APP_BASE_URL"] == "http://127.0.0.1:5077"
    assert config_of(monkeypatch, env).APP_BASE_URL == "http://127.0.0.1:5077"
    assert env["DATABASE_URL"] == "postgresql://db/crm" and env["CRM_ENV"] == "development"


def test_a_configured_base_url_is_kept(monkeypatch, no_dotenv):
    env = cli.child_env({"APP_BASE_URL": "https://crm.example.com"}, host="127.0.0.1", port=5077, **URLS)
    assert env["APP_BASE_URL"] == "https://crm.example.com"

    (no_dotenv / ".env").write_text("APP_BASE_URL=https://tunnel.example.net\n")
    env = cli.child_env({}, host="127.0.0.1", port=5077, **URLS)
    assert "APP_BASE_URL" not in env  # flask reads it from .env itself
    assert config_of(monkeypatch, {**env, "APP_BASE_URL": "https://tunnel.example.net"}).APP_BASE_URL == (
        "https://tunnel.example.net")


def test_an_empty_base_url_counts_as_unset():
    env = cli.child_env({"APP_BASE_URL": ""}, host="127.0.0.1", port=5001, **URLS)
    assert env["APP_BASE_URL"] == "http://127.0.0.1:5001"


@pytest.mark.parametrize("host,url", [("0.0.0.0", "http://127.0.0.1:8080"), ("::", "http://[::1]:8080"),
                                      ("localhost", "http://localhost:8080"), ("::1", "http://[::1]:8080")])
def test_a_wildcard_host_links_to_this_machine(host, url):
    assert cli.served_base_url(host, 8080) == url

