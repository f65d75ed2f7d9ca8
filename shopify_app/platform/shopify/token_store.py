"""Encrypt offline access tokens at rest, with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet(secret_key: str) -> Fernet:
    # A dedicated derivation so the signing key and the encryption key are not the same bytes.
    digest = hashlib.pbkdf2_hmac("sha256", secret_key.encode(), b"shopify-token-store", 1)
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt_token(token: str, secret_key: str | None = None) -> str:
    return _fernet(secret_key or current_app.config["SECRET_KEY"]).encrypt(token.encode()).decode()


def decrypt_token(ciphertext: str, secret_key: str | None = None) -> str | None:
    """Plain token, or None when the ciphertext was made with another key."""
    try:
        return (
            _fernet(secret_key or current_app.config["SECRET_KEY"])
            .decrypt(ciphertext.encode())
            .decode()
        )
    except InvalidToken:
        return None
