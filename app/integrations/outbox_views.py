"""/outbox: the messages the `outbox` mail backend stored, for the people who send them."""
from __future__ import annotations

import re

from flask import Blueprint
from sqlalchemy import select

from app.auth.permissions import INBOX, require
from app.errors import abort_with
from app.extensions import db
from app.htmx import render
from app.integrations.models import OutboxMessage

bp = Blueprint("outbox", __name__, url_prefix="/outbox")

_URL = re.compile(r"https?://[^\s<>\"']+")


@bp.get("")
@require(INBOX)
def index():
    messages = db.session.scalars(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(200)
    ).all()
    return render("outbox/index.html", context=dict(messages=messages))


@bp.get("/<uuid:message_id>")
@require(INBOX)
def message(message_id):
    msg = db.session.get(OutboxMessage, message_id)
    if msg is None:
        abort_with(404, "That message is not in the outbox.")
    return render("outbox/message.html", context=dict(message=msg, links=_URL.findall(msg.body_text)))
