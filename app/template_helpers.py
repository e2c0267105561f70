"""Jinja globals and filters shared by every template."""
from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from flask import Flask, current_app, get_template_attribute, request, url_for
from flask_login import current_user

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


def nav_items():
    if not current_user.is_authenticated:
        return []
    items = []
    navigation = list(NAVIGATION)
    if current_app.config.get("MAIL_BACKEND", "outbox") == "outbox":
        # dev and tests: e-mails are kept here instead of being sent
        navigation.insert(-1, ("Outbox", "outbox.index", permissions.INBOX, "inbox"))
    for label, endpoint, permission, icon in navigation:
        if permission is None or permissions.can(current_user, permission):
            url = url_for(endpoint)
            active = request.path == url or (url != "/" and request.path.startswith(url.rstrip("/") + "/"))
            # the inbox's unread count, loaded and polled by htmx (templates/inbox/queue/_badge.html)
            badge = url_for("inbox.unread_badge") if endpoint == "inbox.index" else None
            items.append({"label": label, "url": url, "icon": icon, "active": active, "badge": badge})
    return items


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


@functools.lru_cache(maxsize=4096)
def kept_render(macro, *args):
    """A macro's output kept by the macro and every argument it is rendered from: for a list
    row whose macro reads nothing but its arguments (no request, no clock, no globals that
    change), the same values are the same HTML, rendered once per process. The 4,096 most
    recently used (a row and its key: ~1 KB); a changed template is a new macro, so a new key.
    The leads and invoices lists' rows (crm/records/_lead_row.html, billing/_invoice_row.html)."""
    return macro(*args)


def register(app: Flask) -> None:
    app.jinja_env.globals.update(nav_items=nav_items, can=permissions.can, P=permissions, csrf_field=csrf_field)
    app.jinja_env.filters.update(money=money, ago=ago, timestamp=timestamp, label=enum_label)
    # E.164 as people read it, national at home: every template that shows a phone uses it.

    app.jinja_env.filters["phone"] = format_phone
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
