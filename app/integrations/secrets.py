"""Stored credentials encrypted at rest: AES-256-GCM under SECRETS_KEY.

`encrypt(text)` gives "v1:<base64 nonce + ciphertext + tag>"; the "v1" names the key
version, so a later key can be added beside this one and old values still read. SECRETS_KEY
is required in production (app/config.py); outside production an unset key falls back to a
fixed development key. Any string works as the key: it is stretched to 32 bytes with SHA-256
(a 64-hex-digit key is used as is).
"""
from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

VERSION = "v1"
DEVELOPMENT_KEY = "dev-only-secrets-key-change-me"
_NONCE = 12


class SecretUnreadable(ValueError):
    """A stored value that does not decrypt under the configured key."""


def _key() -> bytes:
    raw = current_app.config.get("SECRETS_KEY") or ""
    if not raw:
        if current_app.config.get("ENV") == "production":
            raise RuntimeError("SECRETS_KEY is not set")
        raw = DEVELOPMENT_KEY
    try:
        key = bytes.fromhex(raw)
        if len(key) == 32:
            return key
    except ValueError:
        pass
    return hashlib.sha256(raw.encode()).digest()


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key()).encrypt(nonce, plaintext.encode(), VERSION.encode())
    return f"{VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str) -> str:
    version, _, body = (stored or "").partition(":")
    if version != VERSION or not body:
        raise SecretUnreadable("not an encrypted value of a known key version")
    try:
        raw = base64.b64decode(body, validate=True)
        return AESGCM(_key()).decrypt(raw[:_NONCE], raw[_NONCE:], VERSION.encode()).decode()
    except (ValueError, InvalidTag) as exc:
        raise SecretUnreadable("does not decrypt under SECRETS_KEY") from exc
