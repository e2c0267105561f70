"""Small factories for the rows tests need; every value can be overridden."""
from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

from itsdangerous import URLSafeTimedSerializer

from app.auth.models import User, UserRole
from app.auth.passwords import hash_password

PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # hashed once: argon2 is slow on purpose
_seq = itertools.count(1)


class Factory:
    def __init__(self, session):
        self.session = session

    def _add(self, obj):
        self.session.add(obj)
        self.session.flush()
        return obj

    def user(self, role: UserRole = UserRole.REP, **kw) -> User:
        n = next(_seq)
        values = dict(
            email=f"user{n}-{uuid.uuid4().hex[:6]}@example.com",
            first_name=kw.pop("first_name", "Pat"),
            last_name=kw.pop("last_name", f"Tester{n}"),
            role=role,
            password_hash=_PASSWORD_HASH,
            is_active=True,
            session_version=1,
        )
        values.update(kw)
        return self._add(User(**values))

    def company(self, **kw):
        from app.crm.models import Company

        n = next(_seq)
        name = kw.pop("name", f"Acme Towing {n}")
        values = dict(name=name, normalized_name=name.lower())
        values.update(kw)
        return self._add(Company(**values))

    def contact(self, company=None, **kw):
        from app.crm.models import Contact

        n = next(_seq)
        values = dict(
            company_id=company.id if company else None,
            first_name="Mike", last_name=f"Delgado{n}", full_name=f"Mike Delgado{n}",
            email=f"mike{n}@abc-towing.example.com",
            email_normalized=f"mike{n}@abc-towing.example.com",
        )
        values.update(kw)
        return self._add(Contact(**values))

    def lead(self, company=None, contact=None, **kw):
        from app.crm.models import Lead

        company = company or self.company()
        contact = contact or self.contact(company)
        values = dict(company_id=company.id, contact_id=contact.id,
                      estimated_units=10, estimated_revenue=Decimal("790.00"))
        values.update(kw)
        return self._add(Lead(**values))


def login(client, user: User) -> None:
    """Sign the test client in as `user` (what a successful /login leaves in the session)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def csrf_token(client, app) -> str:
    """A valid CSRF token for the client's session (what Flask-WTF puts in forms)."""
    with client.session_transaction() as session:
        raw = session.setdefault("csrf_token", uuid.uuid4().hex)
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
