"""Saved views of the lists (issue 13): a name for a list's filters and sort, private or
shared with the team, and one default per user and list, opened when the list is opened with
no filter. Services flush; the caller commits."""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import String, Uuid, bindparam, or_, select, update

from app.auth.models import User
from app.db import select_rows
from app.extensions import db
from app.reports.models import SavedView

# list -> its page's endpoint (each page includes templates/reports/_saved_views.html)
LISTS = {"leads": "crm.leads", "companies": "crm.companies", "invoices": "billing.invoices",
         "board": "crm.pipeline", "tasks": "crm.tasks", "inbox": "inbox.index"}
LABELS = {"leads": "Leads", "companies": "Companies", "invoices": "Invoices", "board": "Pipeline board",
          "tasks": "Tasks", "inbox": "Inbox"}
NOT_KEPT = {"after", "cursor", "view", "csrf_token"}  # paging and the view itself
MAX_QUERY = 1000
MAX_NAME = 60


class SavedViewError(ValueError):
    pass


def clean_query(query: str) -> str:
    """The list's filters and sort from its query string (paging dropped), in a stable order."""
    pairs = [(k, v) for k, v in parse_qsl(query or "", keep_blank_values=False) if k not in NOT_KEPT]
    cleaned = urlencode(sorted(pairs))
    if len(cleaned) > MAX_QUERY:
        raise SavedViewError("Those filters are too long to save.")
    return cleaned


@dataclass(frozen=True)
class VisibleView:
    """A view as a list's tabs show it (and its default check reads it), with its owner's name."""

    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    query: str
    shared: bool
    is_default: bool
    owner_name: str


@functools.cache
def _visible_statement():
    return (select(SavedView.id, SavedView.user_id, SavedView.name, SavedView.query, SavedView.shared,
                   SavedView.is_default, User.first_name, User.last_name)
            .join(User, User.id == SavedView.user_id)
            .where(SavedView.list_name == bindparam("list_name", type_=String),
                   or_(SavedView.user_id == bindparam("user_id", type_=Uuid), SavedView.shared.is_(True)))
            .order_by(SavedView.name, SavedView.id))


def visible_views(list_name: str, user_id: uuid.UUID) -> list[VisibleView]:
    """The user's own views of a list and those the team shared, by name (one statement, on
    every list page: plain rows, the owners' names joined)."""
    return [VisibleView(*row[:6], owner_name=f"{row.first_name} {row.last_name}".strip())
            for row in select_rows(_visible_statement(), {"list_name": list_name, "user_id": user_id})]


def save_view(*, user, list_name: str, name: str, query: str, shared: bool, make_default: bool) -> SavedView:
    if list_name not in LISTS:
        raise SavedViewError("That list cannot be saved.")
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_NAME:
        raise SavedViewError(f"Name the view (up to {MAX_NAME} characters).")
    view = SavedView(user_id=user.id, list_name=list_name, name=name, query=clean_query(query), shared=shared)
    db.session.add(view)
    db.session.flush()
    if make_default:
        set_default(view, user=user)
    return view


def set_default(view: SavedView, *, user) -> None:
    """The user's default of this list (their own views only); the one before stops being it."""
    if view.user_id != user.id:
        raise SavedViewError("Only your own views can be your default.")
    db.session.execute(update(SavedView).where(SavedView.user_id == user.id, SavedView.list_name == view.list_name,
                                               SavedView.id != view.id, SavedView.is_default.is_(True))
                       .values(is_default=False))
    view.is_default = True
    db.session.flush()


def delete_view(view: SavedView, *, user) -> None:
    if view.user_id != user.id:
        raise SavedViewError("Only its owner deletes a view.")
    db.session.delete(view)
    db.session.flush()


def url_query(view: SavedView | VisibleView) -> str:
    """The view's link: its filters, and its id (so a list opened through it is not "bare")."""
    return "&".join(p for p in (view.query, urlencode({"view": str(view.id)})) if p)
