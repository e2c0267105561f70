"""Account e-mails (queue "mail"): ids in, idempotent."""
from __future__ import annotations

import uuid

from flask import render_template

from app.auth.models import User
from app.extensions import db
from app.integrations.mail import MailMessage, default_sender, get_mail_backend


def send_login_unlock_email(user_id: str, link: str) -> None:
    """Tell the owner their sign-in was locked by failed attempts and how to unlock it."""
    user = db.session.get(User, uuid.UUID(user_id))
    if user is None or not user.is_active:
        return
    get_mail_backend().send(MailMessage(
        to=user.email, subject="Sign-in to your CRM account was locked",
        body_text=render_template("auth/email_unlock.txt", user=user, link=link),
        from_address=default_sender(), message_key=f"login-unlock-{user.id}-{link[-24:]}"))
    db.session.commit()
