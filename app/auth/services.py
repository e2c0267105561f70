"""Sign-in, invitations and account lifecycle. Services flush; callers commit."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import case, func, select

from app.activity.services import record
from app.auth.models import User, UserRole
from app.auth.passwords import hash_password, needs_rehash, unusable_password, verify_password
from app.auth.permissions import INTERACTIVE_ROLES
from app.extensions import db

INVITE_SALT = "crm.invite.v1"


class AccountError(Exception):
    """A rule refused the change; the message is shown to the user."""


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The user if the credentials are right and the account may sign in, else None.

    Unknown e-mail, wrong password, deactivated account and API-only seats all
    answer None, so the caller shows one message and nothing is enumerable.
    """
    user = find_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active or user.role not in INTERACTIVE_ROLES:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    db.session.flush()
    return user


def create_user(*, email: str, first_name: str, last_name: str, role: UserRole,
                password: str | None = None, invited_by: User | None = None,
                phone: str | None = None) -> User:
    email = normalize_email(email)
    if find_user_by_email(email):
        raise AccountError("A user with this e-mail already exists.")
    user = User(
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        role=role,
        phone=phone or None,
        password_hash=hash_password(password) if password else unusable_password(),
        is_active=True,
        session_version=1,
    )
    if invited_by is not None:
        user.invited_by_id = invited_by.id
        user.invited_at = datetime.now(UTC)
    db.session.add(user)
    db.session.flush()
    return user


def invite_user(*, admin: User, email: str, first_name: str, last_name: str,
                role: UserRole) -> tuple[User, str]:
    """Create the account with no usable password; return it and its invite token."""
    user = create_user(email=email, first_name=first_name, last_name=last_name, role=role,
                       invited_by=admin)
    record("user.invited", f"{admin.full_name} invited {user.full_name} ({user.role.value})",
           actor=admin, detail={"user_id": user.id, "email": user.email, "role": user.role})
    return user, invite_token(user)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=INVITE_SALT)


def _password_fingerprint(user: User) -> str:
    # The token is bound to the password hash it was issued under: once a
    # password is set the hash changes and the link stops working (single use).
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def invite_token(user: User) -> str:
    return _serializer().dumps({"u": str(user.id), "p": _password_fingerprint(user)})


@dataclass
class InviteCheck:
    user: User | None
    problem: str | None


def check_invite(token: str) -> InviteCheck:
    max_age = current_app.config["INVITE_TTL_HOURS"] * 3600
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return InviteCheck(None, "This invitation has expired. Ask an administrator for a new one.")
    except BadSignature:
        return InviteCheck(None, "This invitation link is not valid.")
    user = db.session.get(User, data.get("u"))
    if user is None or not user.is_active:
        return InviteCheck(None, "This invitation link is not valid.")
    if _password_fingerprint(user) != data.get("p"):
        return InviteCheck(None, "This invitation has already been used. Sign in with your password.")
    return InviteCheck(user, None)


def set_password(user: User, password: str, *, actor: User | None = None) -> None:
    user.password_hash = hash_password(password)
    user.session_version += 1  # other sessions end with the old password
    db.session.flush()
    record("user.password_set", f"{user.full_name} set a new password", actor=actor or user,
           detail={"user_id": user.id})


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    """The user's own change: only with the current password; every other session ends."""
    if not verify_password(user.password_hash, current_password):
        raise AccountError("That is not your current password.")
    set_password(user, new_password)


def end_all_sessions(user: User, *, actor: User) -> None:
    user.session_version += 1
    db.session.flush()
    record("user.sessions_ended", f"All sessions of {user.full_name} were signed out",
           actor=actor, detail={"user_id": user.id})


def deactivate_user(user: User, *, admin: User) -> None:
    if user.id == admin.id:
        raise AccountError("You cannot deactivate your own account.")
    if not user.is_active:
        raise AccountError(f"{user.full_name} is already deactivated.")
    user.is_active = False
    user.session_version += 1
    db.session.flush()
    record("user.deactivated", f"{admin.full_name} deactivated {user.full_name}", actor=admin,
           detail={"user_id": user.id, "before": {"is_active": True}, "after": {"is_active": False}})


def reactivate_user(user: User, *, admin: User) -> None:
    if user.is_active:
        raise AccountError(f"{user.full_name} is already active.")
    user.is_active = True
    db.session.flush()
    record("user.reactivated", f"{admin.full_name} reactivated {user.full_name}", actor=admin,
           detail={"user_id": user.id, "before": {"is_active": False}, "after": {"is_active": True}})


def change_role(user: User, role: UserRole, *, admin: User) -> None:
    if user.id == admin.id:
        raise AccountError("You cannot change your own role.")
    before = user.role
    if before == role:
        return
    user.role = role
    user.session_version += 1  # permissions changed: start fresh
    db.session.flush()
    record("user.role_changed", f"{admin.full_name} changed {user.full_name}'s role to {role.value}",
           actor=admin, detail={"user_id": user.id, "before": {"role": before}, "after": {"role": role}})


def admin_to_ask() -> User | None:
    """Who decides what only an owner or admin may do: the first active admin, else the owner."""
    return db.session.scalar(
        select(User).where(User.is_active.is_(True), User.role.in_((UserRole.ADMIN, UserRole.NICK)))
        .order_by(case((User.role == UserRole.ADMIN, 0), else_=1), User.created_at, User.id).limit(1))
