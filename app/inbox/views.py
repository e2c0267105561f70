from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth.permissions import INBOX, require
from app.extensions import db
from app.htmx import render
from app.inbox import bp
from app.inbox.models import Conversation


@bp.get("/inbox")
@require(INBOX)
def index():
    conversations = db.session.scalars(
        select(Conversation)
        .where(Conversation.is_archived.is_(False))
        .options(joinedload(Conversation.contact), joinedload(Conversation.lead))
        .order_by(Conversation.last_message_at.desc().nulls_last())
        .limit(100)
    ).all()
    return render("inbox/index.html", context=dict(conversations=conversations))
