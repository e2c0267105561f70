"""Absolute URLs, built from APP_BASE_URL only.

An e-mailed link, a payment provider's redirect or a webhook address must not come from
the request's Host header (anyone can send any Host): this is the one way to build them,
in a request or in a job alike.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def absolute_url(endpoint: str, **values) -> str:
    base = urlsplit(current_app.config["APP_BASE_URL"])
    if base.scheme not in ("http", "https") or not base.netloc:
        raise RuntimeError("APP_BASE_URL must be an absolute http(s) URL, e.g. https://crm.example.com")
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/",
                                       url_scheme=base.scheme)
    anchor = values.pop("_anchor", None)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url
