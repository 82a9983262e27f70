"""API tokens: high-entropy random strings, kept only as a sha256 hash (a slow password hash
buys nothing for 256 random bits and would cost every request)."""

import hashlib
import secrets

TOKEN_PREFIX = "fnl_"  # noqa: S105 - a marker, not a secret
SHOWN_PREFIX = 12  # characters kept to tell tokens apart: "fnl_" and 8 random ones


def token_new() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)
