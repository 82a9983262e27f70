"""How contact channels are normalised before they are stored, compared or searched."""

import re

_NON_DIGITS = re.compile(r"\D+")


def normalize_email(value: str) -> str:
    return (value or "").strip().lower()


def normalize_phone(value: str) -> str:
    """Keep digits only; a mainland mobile written with +86 / 0086 is stored as its 11 digits."""
    digits = _NON_DIGITS.sub("", value or "")
    if digits.startswith("0086"):
        digits = digits[2:]
    if len(digits) == 13 and digits.startswith("861"):
        digits = digits[2:]
    return digits


def phone_search_prefix(value: str) -> str:
    """The digits to look for when someone types the start of a number, "+86 138" included."""
    raw = (value or "").strip()
    digits = _NON_DIGITS.sub("", raw)
    if raw.startswith("+86") or raw.startswith("0086"):
        digits = digits[2:] if raw.startswith("+") else digits[4:]
    return normalize_phone(digits) if len(digits) >= 11 else digits


def normalize_wechat_id(value: str) -> str:
    # WeChat IDs are case-insensitive; stored lower-case so duplicates are found.
    return (value or "").strip().lower()


def normalize_text(value: str) -> str:
    return " ".join((value or "").split())
