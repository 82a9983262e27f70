"""The small words that join translated pieces: "label: value" and the separator of a list.

Written in code as ": " and ", " they put English punctuation into Chinese sentences
("规则：已付款 → 付费客户", "手机号、邮箱"); here they are translated like any other text."""

from collections.abc import Iterable

from django.utils.translation import gettext, pgettext


def labelled(label: object, value: object) -> str:
    """ "Rule: Paid" / "规则：已付款"."""
    return pgettext("a label and its value", "%(label)s: %(value)s") % {
        "label": label,
        "value": value,
    }


def separator() -> str:
    """What stands between the items of a list: ", " / "、"."""
    return pgettext("between the items of a list", ", ")


def listed(items: Iterable[object]) -> str:
    """ "phone, email" / "手机号、邮箱"."""
    return separator().join(str(item) for item in items)


def all_listed(items: Iterable[object]) -> str:
    """ "a phone number and an expected amount" / "手机号和预计金额": every one of them."""
    items = [str(item) for item in items]
    if len(items) < 2:
        return "".join(items)
    return pgettext("the last two items of a list of all", "%(items)s and %(last)s") % {
        "items": listed(items[:-1]),
        "last": items[-1],
    }


def in_parts(parts: Iterable[object]) -> str:
    """ "a; b" / "a；b": the parts of one sentence that each say something of their own."""
    return gettext("; ").join(str(part) for part in parts)


def aside(text: object) -> str:
    """`text` as an aside after what comes before it: " (2 rows)" / "（2 行）"."""
    return pgettext("an aside after a word", " (%(aside)s)") % {"aside": text}
