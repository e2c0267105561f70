"""Flask-Login wiring: the session holds "<user id>:<session version>"."""
from __future__ import annotations

import uuid

from flask import flash, g, redirect, request, url_for

from app.auth.models import User
from app.errors import error_response
from app.extensions import db
from app.htmx import is_htmx


def configure(login_manager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str):
        user_id, _, version = session_id.partition(":")
        try:
            user = db.session.get(User, uuid.UUID(user_id))
        except ValueError:
            return None
        if user is None or not user.is_active or str(user.session_version) != version:
            g.session_ended = True
            return None
        return user

    @login_manager.unauthorized_handler
    def unauthorized():
        if g.get("session_ended"):
            flash("Your session has ended. Please sign in again.", "warning")
        if is_htmx():
            # a fragment cannot show the login page: ask htmx to navigate
            response = error_response(401)
            response.headers["HX-Redirect"] = url_for("auth.login")
            return response
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
