"""argon2id password hashing (argon2-cffi's defaults follow RFC 9106)."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

UNUSABLE_PREFIX = "!"
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def unusable_password() -> str:
    """For invited users who have not chosen a password yet: matches nothing."""
    return UNUSABLE_PREFIX + secrets.token_urlsafe(24)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash or stored_hash.startswith(UNUSABLE_PREFIX):
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
