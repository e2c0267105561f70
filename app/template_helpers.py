"""Jinja globals and filters shared by every template."""
from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask, current_app, get_template_attribute, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app.auth import permissions
from app.crm.records.normalize import format_phone

# (label, endpoint, permission, icon) — the app's navigation, filtered by role.
NAVIGATION = [
    ("Home", "home.home", None, "home"),  # every signed-in role: its own home (app/home)
    ("Pipeline", "crm.pipeline", permissions.SALES, "pipeline"),
    ("Inbox", "inbox.index", permissions.INBOX, "inbox"),
    ("Calls", "inbox.calls", permissions.INBOX, "phone"),
    ("Leads", "crm.leads", permissions.SALES, "leads"),
    ("Tasks", "crm.tasks", permissions.SALES, "tasks"),
    ("Companies", "crm.companies", permissions.SALES, "companies"),
    ("Invoices", "billing.invoices", permissions.INVOICES, "invoices"),
    ("Reports", "reports.index", permissions.SALES, "reports"),
    ("Warehouse", "fulfillment.warehouse", permissions.WAREHOUSE, "warehouse"),
    ("Settings", "settings.index", permissions.SETTINGS, "settings"),
]


URL_CACHE_SIZE = 512  # entries per process: bounded whatever SCRIPT_NAME a proxy sends


def _cached(kind: str, key: tuple, build):
    """A per-app, per-process cache of what only the app's routes and the request's script
    root decide (URLs): every page's layout asks for the same ~25 (nav, icons, static files)."""
    cache = current_app.extensions.setdefault("url_cache", {})
    value = cache.get((kind, *key))
    if value is None:
        value = build()
        if len(cache) < URL_CACHE_SIZE:
            cache[(kind, *key)] = value
    return value


def static_url(filename: str) -> str:
    """url_for('static', filename=...), built once per script root and file."""
    return _cached("static", (request.script_root, filename), lambda: url_for("static", filename=filename))


def _navigation(role) -> tuple:
    """The role's navigation: (label, url, icon, badge url) per entry it may open."""
    navigation = list(NAVIGATION)
    if current_app.config.get("MAIL_BACKEND", "outbox") == "outbox":
        # dev and tests: e-mails are kept here instead of being sent
        navigation.insert(-1, ("Outbox", "outbox.index", permissions.INBOX, "inbox"))
    allowed = permissions.ROLE_PERMISSIONS.get(role, frozenset())
    # the inbox's unread count, loaded and polled by htmx (templates/inbox/queue/_badge.html)
    return tuple((label, url_for(endpoint), icon, url_for("inbox.unread_badge") if endpoint == "inbox.index" else None)
                 for label, endpoint, permission, icon in navigation if permission is None or permission in allowed)


def nav_items():
    if not current_user.is_authenticated:
        return []
    role = current_user.role
    # per role: the navigation depends on nothing else of the user (permissions.can)
    entries = _cached("nav", (request.script_root, role), lambda: _navigation(role))
    path = request.path
    return [{"label": label, "url": url, "icon": icon, "badge": badge,
             "active": path == url or (url != "/" and path.startswith(url.rstrip("/") + "/"))}
            for label, url, icon, badge in entries]


_CENT = Decimal("0.01")


def money(value) -> str:
    """$1,234.50 — display only; amounts are rounded where they are computed."""
    if value is None:
        return "—"
    if not isinstance(value, Decimal):
        value = Decimal(value)
    if value.as_tuple().exponent != -2:
        value = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def ago(value) -> str:
    """'3 min ago', 'yesterday', or a date for anything older than a week."""
    if value is None:
        return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.strftime("%b %-d, %Y")
    now = datetime.now(UTC)
    seconds = (now - value).total_seconds()
    if seconds < 0:
        return value.strftime("%b %-d, %Y %H:%M")
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 172800:
        return "yesterday"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return value.strftime("%b %-d, %Y")


def enum_label(value) -> str:
    """IN_STOCK (or DeviceStatus.IN_STOCK) -> "In stock": how a stored enum value reads."""
    if value is None:
        return "—"
    raw = str(getattr(value, "value", value))
    return raw.replace("_", " ").strip().capitalize()


def timestamp(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def csrf_field():
    """The `csrf_field` macro of _macros/forms.html, callable from any template or block without
    an import (a fragment rendered alone does not run its template's imports)."""
    return get_template_attribute("_macros/forms.html", "csrf_field")()


class RenderCache:
    """A bounded LRU of rendered HTML, shared by the threads of a process (app.template_helpers.KEPT)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key) -> Markup | None:
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                self.hits += 1
            else:
                self.misses += 1
            return html

    def put(self, key, html: Markup) -> None:
        with self._lock:
            self._entries[key] = html
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


# The board's cards and the leads and invoices lists' rows (~1-1.6 KB of HTML each): a few
# boards' and lists' worth of filters and pages per process.
KEPT = RenderCache(8192)


def kept(key: tuple, render) -> Markup:
    """HTML kept per process by a key that holds every input it is rendered from (the macro
    itself included: a changed template is a new macro, so a new key): the same key can only
    render the same HTML, so nothing is invalidated and nothing shows stale. For markup that
    repeats per row and reads nothing but its inputs (no request, no clock, no globals that
    change): the board's cards (app.crm.pipeline.cards), the leads and invoices lists' rows."""
    html = KEPT.get(key)
    if html is None:
        html = render()
        KEPT.put(key, html)
    return html


def kept_render(macro, *args) -> Markup:
    """`macro(*args)`, kept by the macro and its arguments (kept): a list row's macro
    (crm/records/_lead_row.html, billing/_invoice_row.html)."""
    return kept((macro, *args), lambda: macro(*args))


def register(app: Flask) -> None:
    app.jinja_env.globals.update(nav_items=nav_items, static_url=static_url, can=permissions.can, P=permissions, csrf_field=csrf_field)
    app.jinja_env.filters.update(money=money, ago=ago, timestamp=timestamp, label=enum_label)
    # E.164 as people read it, national at home: every template that shows a phone uses it.

    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
