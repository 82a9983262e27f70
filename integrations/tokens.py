"""API tokens: high-entropy random strings, kept only as a sha256 hash (a slow password hash
buys nothing for 256 random bits and would cost every request)."""

import base64
import binascii
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


WHSEC = "whsec_"


def webhook_key(secret: str) -> bytes:
    """The key of the Standard Webhooks signature: the 32 random bytes the stored secret
    ("whsec_" + URL-safe base64, unpadded) writes. A secret that is not such base64 (none is
    made so) keys with its own characters, as X-Funnel-Signature does."""
    raw = secret.removeprefix(WHSEC)
    try:
        key = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        return secret.encode()
    if not key or base64.urlsafe_b64encode(key).decode().rstrip("=") != raw:
        return secret.encode()
    return key


def webhook_secret_standard(secret: str) -> str:
    """The endpoint's secret as Standard Webhooks verifiers take it: "whsec_" + standard
    base64 of the key. Often the stored secret itself; it differs where that holds - or _."""
    return WHSEC + base64.b64encode(webhook_key(secret)).decode()
