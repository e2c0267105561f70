"""Roles -> permissions, and the one decorator that checks them."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from app.auth.models import UserRole

SALES = "sales"
INBOX = "inbox"
INVOICES = "invoices"
WAREHOUSE = "warehouse"
INVENTORY = "inventory"
SETTINGS = "settings"
# Money decisions on an invoice: void, record a manual payment, refund, accept overpayment.
# The owner's and admins'; a rep asks for them (a task for an admin, app.billing.requests).
BILLING_ADMIN = "billing_admin"

ALL = frozenset({SALES, INBOX, INVOICES, WAREHOUSE, INVENTORY, SETTINGS, BILLING_ADMIN})

ROLE_PERMISSIONS: dict[UserRole, frozenset[str]] = {
    UserRole.ADMIN: ALL,
    UserRole.NICK: ALL,
    UserRole.REP: frozenset({SALES, INBOX, INVOICES}),
    UserRole.OPERATOR: frozenset({WAREHOUSE, INVENTORY}),
    UserRole.AI_AGENT: frozenset(),  # API seat: no interactive sign-in
}

# Merging companies or contacts (the merged one is deleted): the owner's (NICK) and admins'.
# A rep asks for one instead (app.crm.records.services.request_merge: a task for an admin).
MERGE_RECORDS = "merge_records"
for _role in (UserRole.ADMIN, UserRole.NICK):
    ROLE_PERMISSIONS[_role] = ROLE_PERMISSIONS[_role] | {MERGE_RECORDS}

INTERACTIVE_ROLES = frozenset(r for r in UserRole if r is not UserRole.AI_AGENT)


def can(user, permission: str) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def require(permission: str):
    """Sign-in required, then 403 unless the user's role grants `permission`."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def home_endpoint(user) -> str:
    """Where a user lands after sign-in: their role's home page (app.home)."""
    return "home.home"
