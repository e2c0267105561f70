"""Sign-in throttling that a stranger cannot turn into a lockout.

Failed sign-ins (422) are counted three ways (Flask-Limiter, in Redis; while Redis is away
or frozen, in each process's memory, so sign-in keeps working and stays limited):

- per (e-mail, client address): someone mistyping, or guessing one account from one place;
- per client address: one place guessing many accounts;
- per e-mail, from anywhere: high, so only a distributed attack reaches it. Then the
  account's owner is e-mailed (once per window) a link that unlocks sign-in for that
  e-mail on the browser that opens it; the other two limits still hold there.

The client address is `request.remote_addr`: behind proxies, TRUSTED_PROXY_COUNT puts
Werkzeug's ProxyFix in front of the app so it is the client's, not the proxy's.
"""
from __future__ import annotations

import logging

from flask import current_app, request, session
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from redis.exceptions import RedisError

from app.auth import services
from app.auth.permissions import INTERACTIVE_ROLES
from app.extensions import db, limiter
from app.queue import enqueue, redis_connection
from app.urls import absolute_url

log = logging.getLogger("crm.auth")

UNLOCK_SALT = "crm.login-unlock.v1"
UNLOCKED_KEY = "login_unlocked"  # session: e-mails whose per-e-mail limit this browser skips
SCOPE_EMAIL = "login-email"


def login_email() -> str:
    return services.normalize_email(request.form.get("email", ""))


def failed(response) -> bool:
    return response.status_code == 422


def _email_ip_key() -> str:
    return f"login-email-ip:{login_email()}:{get_remote_address()}"


def _email_key() -> str:
    return f"login-email:{login_email()}"


def _unlocked_here() -> bool:
    return login_email() in session.get(UNLOCKED_KEY, [])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNLOCK_SALT)


def unlock_token(email: str) -> str:
    return _serializer().dumps({"e": services.normalize_email(email)})


def unlock_this_browser(token: str) -> str | None:
    """Mark this browser's session as unlocked for the token's e-mail; the e-mail, or None
    for a bad or expired link."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["LOGIN_UNLOCK_TTL_MINUTES"] * 60)
    except BadSignature:
        return None
    email = data.get("e") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email:
        return None
    unlocked = [e for e in session.get(UNLOCKED_KEY, []) if e != email][-4:]
    session[UNLOCKED_KEY] = [*unlocked, email]
    return email


def _email_limit_breached(limit) -> None:
    """The per-e-mail limit tripped: mail the owner (if there is one) an unlock link, once
    per window. The answer is the same whether the account exists or not."""
    email = login_email()
    user = services.find_user_by_email(email)
    if user is None or not user.is_active or user.role not in INTERACTIVE_ROLES:
        return
    window = current_app.config["LOGIN_UNLOCK_TTL_MINUTES"] * 60
    try:
        first = redis_connection().set(f"login-unlock-sent:{user.id}", "1", nx=True, ex=window)
    except RedisError as exc:
        # Fail open: the limit itself still holds (Flask-Limiter counts in memory while
        # Redis is away); only the owner's unlock e-mail waits for the next breach.
        log.warning("sign-in locked for user=%s; unlock link not sent, Redis unavailable: %s", user.id, exc)
        return
    if not first:
        return
    log.warning("sign-in locked for user=%s after distributed failures; unlock link sent", user.id)
    enqueue("mail", "app.auth.jobs.send_login_unlock_email", user.id,
            absolute_url("auth.unlock_sign_in", token=unlock_token(email)))
    db.session.commit()  # sends the job


def limits(view):
    """The three sign-in limits, for the POST of /login."""
    config = lambda key: lambda: current_app.config[key]  # noqa: E731 (read per request)
    view = limiter.limit(config("LOGIN_LIMIT_PER_EMAIL"), methods=["POST"], key_func=_email_key,
                         deduct_when=failed, scope=SCOPE_EMAIL, exempt_when=_unlocked_here,
                         on_breach=_email_limit_breached)(view)
    view = limiter.limit(config("LOGIN_LIMIT_PER_EMAIL_IP"), methods=["POST"], key_func=_email_ip_key,
                         deduct_when=failed, scope="login-email-ip")(view)
    return limiter.limit(config("LOGIN_LIMIT_PER_IP"), methods=["POST"], key_func=get_remote_address,
                         deduct_when=failed, scope="login-ip")(view)
